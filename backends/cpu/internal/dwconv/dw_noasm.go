//go:build !amd64 || purego

package dwconv

// hasAVX512 and hasAVX2 are false: no assembly in this build.
const (
	hasAVX512 = false
	hasAVX2   = false
)

// The kernels below are never called (Supported(AVX512) is false); they
// exist so that the dispatch code compiles without assembly.

func dwS1U8I32AVX512(a *byte) { panic("dwconv: no assembly") }
func dwS1U8QAVX512(a *byte)   { panic("dwconv: no assembly") }
func dwS1S8I32AVX512(a *byte) { panic("dwconv: no assembly") }
func dwS1S8QAVX512(a *byte)   { panic("dwconv: no assembly") }
func dwS2U8I32AVX512(a *byte) { panic("dwconv: no assembly") }
func dwS2U8QAVX512(a *byte)   { panic("dwconv: no assembly") }
func dwS2S8I32AVX512(a *byte) { panic("dwconv: no assembly") }
func dwS2S8QAVX512(a *byte)   { panic("dwconv: no assembly") }
func dwS1U8I32AVX2(a *byte)   { panic("dwconv: no assembly") }
func dwS1U8QAVX2(a *byte)     { panic("dwconv: no assembly") }
func dwS1S8I32AVX2(a *byte)   { panic("dwconv: no assembly") }
func dwS1S8QAVX2(a *byte)     { panic("dwconv: no assembly") }
func dwS2U8I32AVX2(a *byte)   { panic("dwconv: no assembly") }
func dwS2U8QAVX2(a *byte)     { panic("dwconv: no assembly") }
func dwS2S8I32AVX2(a *byte)   { panic("dwconv: no assembly") }
func dwS2S8QAVX2(a *byte)     { panic("dwconv: no assembly") }
func dwNHWCU8AVX512(a *byte)  { panic("dwconv: no assembly") }
func dwNHWCS8AVX512(a *byte)  { panic("dwconv: no assembly") }
