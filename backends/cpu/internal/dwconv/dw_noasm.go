//go:build !amd64 || purego

package dwconv

// hasAVX512 is false: no assembly in this build.
const hasAVX512 = false

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
