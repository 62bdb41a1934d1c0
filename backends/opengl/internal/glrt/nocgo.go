//go:build !cgo

package glrt

import (
	"fmt"
	"unsafe"
)

const cgoEnabled = false

// NewEGL reports that OpenGL is unavailable in a build without cgo.
func NewEGL(opts Options) (*Context, error) {
	return nil, fmt.Errorf("%w: built without cgo", ErrUnavailable)
}

// glapi stands in for the cgo function table; no Context is ever made without
// cgo, so none of these run.
type glapi struct{}

func (g *glapi) getError() uint32                                              { return 0 }
func (g *glapi) getString(name uint32) string                                  { return "" }
func (g *glapi) getStringi(name, i uint32) string                              { return "" }
func (g *glapi) getInteger(name uint32) int                                    { return 0 }
func (g *glapi) getIntegeri(name, i uint32) int                                { return 0 }
func (g *glapi) getInteger64(name uint32) int64                                { return 0 }
func (g *glapi) getQueryiv(target, name uint32) int                            { return 0 }
func (g *glapi) createShader(typ uint32) uint32                                { return 0 }
func (g *glapi) shaderSource(sh uint32, src string)                            {}
func (g *glapi) compileShader(sh uint32)                                       {}
func (g *glapi) deleteShader(sh uint32)                                        {}
func (g *glapi) getShaderiv(sh, name uint32) int                               { return 0 }
func (g *glapi) shaderInfoLog(sh uint32) string                                { return "" }
func (g *glapi) createProgram() uint32                                         { return 0 }
func (g *glapi) attachShader(p, sh uint32)                                     {}
func (g *glapi) detachShader(p, sh uint32)                                     {}
func (g *glapi) linkProgram(p uint32)                                          {}
func (g *glapi) deleteProgram(p uint32)                                        {}
func (g *glapi) useProgram(p uint32)                                           {}
func (g *glapi) getProgramiv(p, name uint32, dst []int32)                      {}
func (g *glapi) programInfoLog(p uint32) string                                { return "" }
func (g *glapi) programInterface(p, iface, name uint32) int                    { return 0 }
func (g *glapi) programResource(p, iface, idx, prop uint32) int                { return 0 }
func (g *glapi) genBuffer() uint32                                             { return 0 }
func (g *glapi) deleteBuffer(id uint32)                                        {}
func (g *glapi) bindBuffer(target, id uint32)                                  {}
func (g *glapi) bufferData(target uint32, size int, data []byte, usage uint32) {}
func (g *glapi) bufferSubData(target uint32, off int, data []byte)             {}
func (g *glapi) getBufferSubData(target uint32, off int, dst []byte)           {}
func (g *glapi) bindBufferRange(target, index, id uint32, off, size int)       {}
func (g *glapi) copyBufferSubData(rt, wt uint32, ro, wo, n int)                {}
func (g *glapi) clearBufferZero(target uint32, off, n int)                     {}
func (g *glapi) dispatchCompute(x, y, z uint32)                                {}
func (g *glapi) memoryBarrier(bits uint32)                                     {}
func (g *glapi) finish()                                                       {}
func (g *glapi) flush()                                                        {}
func (g *glapi) genQuery() uint32                                              { return 0 }
func (g *glapi) deleteQuery(id uint32)                                         {}
func (g *glapi) beginQuery(target, id uint32)                                  {}
func (g *glapi) endQuery(target uint32)                                        {}
func (g *glapi) queryResult(id uint32) uint64                                  { return 0 }
func (g *glapi) queryCounter(id uint32)                                        {}
func (g *glapi) enable(cap uint32)                                             {}
func (g *glapi) debugMessageControlAll(on bool)                                {}
func (g *glapi) debugMessages(max int) []DebugMessage                          { return nil }
func (g *glapi) uniformLocation(p uint32, name string) int32                   { return -1 }
func (g *glapi) programUniform(p uint32, loc int32, kind int, words []uint32)  {}

func loadGL(proc func(string) unsafe.Pointer) (*glapi, error) {
	return nil, fmt.Errorf("%w: built without cgo", ErrUnavailable)
}
