//go:build cgo

package glrt

/*
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>

// Own GL typedefs (identical to <GL/glcorearb.h> on every Linux ABI) so the
// build needs no GL headers. APIENTRY is empty outside Windows.
typedef unsigned int GLenum;
typedef unsigned int GLuint;
typedef int GLint;
typedef int GLsizei;
typedef unsigned int GLbitfield;
typedef unsigned char GLboolean;
typedef char GLchar;
typedef unsigned char GLubyte;
typedef ptrdiff_t GLintptr;
typedef ptrdiff_t GLsizeiptr;
typedef int64_t GLint64;
typedef uint64_t GLuint64;
typedef float GLfloat;

static GLenum q_GetError(void* f) { return ((GLenum (*)(void))f)(); }
static const char* q_GetString(void* f, GLenum n) { return (const char*)((const GLubyte* (*)(GLenum))f)(n); }
static const char* q_GetStringi(void* f, GLenum n, GLuint i) { return (const char*)((const GLubyte* (*)(GLenum, GLuint))f)(n, i); }
static void q_GetIntegerv(void* f, GLenum n, GLint* v) { ((void (*)(GLenum, GLint*))f)(n, v); }
static void q_GetIntegeri_v(void* f, GLenum n, GLuint i, GLint* v) { ((void (*)(GLenum, GLuint, GLint*))f)(n, i, v); }
static void q_GetInteger64v(void* f, GLenum n, GLint64* v) { ((void (*)(GLenum, GLint64*))f)(n, v); }
static GLuint q_CreateShader(void* f, GLenum t) { return ((GLuint (*)(GLenum))f)(t); }
static void q_ShaderSource(void* f, GLuint sh, const char* s, GLint len) {
	const GLchar* p = s;
	((void (*)(GLuint, GLsizei, const GLchar* const*, const GLint*))f)(sh, 1, &p, &len);
}
static void q_U(void* f, GLuint a) { ((void (*)(GLuint))f)(a); }
static void q_UU(void* f, GLuint a, GLuint b) { ((void (*)(GLuint, GLuint))f)(a, b); }
static void q_GetObjectiv(void* f, GLuint o, GLenum n, GLint* v) { ((void (*)(GLuint, GLenum, GLint*))f)(o, n, v); }
static void q_GetInfoLog(void* f, GLuint o, GLsizei n, GLsizei* len, GLchar* buf) { ((void (*)(GLuint, GLsizei, GLsizei*, GLchar*))f)(o, n, len, buf); }
static GLuint q_CreateProgram(void* f) { return ((GLuint (*)(void))f)(); }
static void q_GetProgramInterfaceiv(void* f, GLuint p, GLenum iface, GLenum n, GLint* v) { ((void (*)(GLuint, GLenum, GLenum, GLint*))f)(p, iface, n, v); }
static void q_GetProgramResourceiv(void* f, GLuint p, GLenum iface, GLuint idx, GLenum prop, GLint* v) {
	((void (*)(GLuint, GLenum, GLuint, GLsizei, const GLenum*, GLsizei, GLsizei*, GLint*))f)(p, iface, idx, 1, &prop, 1, NULL, v);
}
static void q_GenOne(void* f, GLuint* id) { ((void (*)(GLsizei, GLuint*))f)(1, id); }
static void q_DeleteOne(void* f, GLuint id) { ((void (*)(GLsizei, const GLuint*))f)(1, &id); }
static void q_BindBuffer(void* f, GLenum t, GLuint id) { ((void (*)(GLenum, GLuint))f)(t, id); }
static void q_BufferData(void* f, GLenum t, GLsizeiptr n, const void* d, GLenum u) { ((void (*)(GLenum, GLsizeiptr, const void*, GLenum))f)(t, n, d, u); }
static void q_BufferSubData(void* f, GLenum t, GLintptr o, GLsizeiptr n, const void* d) { ((void (*)(GLenum, GLintptr, GLsizeiptr, const void*))f)(t, o, n, d); }
static void q_GetBufferSubData(void* f, GLenum t, GLintptr o, GLsizeiptr n, void* d) { ((void (*)(GLenum, GLintptr, GLsizeiptr, void*))f)(t, o, n, d); }
static void q_BindBufferRange(void* f, GLenum t, GLuint i, GLuint id, GLintptr o, GLsizeiptr n) { ((void (*)(GLenum, GLuint, GLuint, GLintptr, GLsizeiptr))f)(t, i, id, o, n); }
static void q_CopyBufferSubData(void* f, GLenum rt, GLenum wt, GLintptr ro, GLintptr wo, GLsizeiptr n) { ((void (*)(GLenum, GLenum, GLintptr, GLintptr, GLsizeiptr))f)(rt, wt, ro, wo, n); }
static void q_ClearBufferSubDataZero(void* f, GLenum t, GLintptr o, GLsizeiptr n) {
	// GL_R8UI / GL_RED_INTEGER / GL_UNSIGNED_BYTE with NULL data fills with zeros.
	((void (*)(GLenum, GLenum, GLintptr, GLsizeiptr, GLenum, GLenum, const void*))f)(t, 0x8232, o, n, 0x8D94, 0x1401, NULL);
}
static void q_DispatchCompute(void* f, GLuint x, GLuint y, GLuint z) { ((void (*)(GLuint, GLuint, GLuint))f)(x, y, z); }
static void q_Bits(void* f, GLbitfield b) { ((void (*)(GLbitfield))f)(b); }
static void q_Void(void* f) { ((void (*)(void))f)(); }
static void q_BeginQuery(void* f, GLenum t, GLuint id) { ((void (*)(GLenum, GLuint))f)(t, id); }
static void q_QueryCounter(void* f, GLuint id, GLenum t) { ((void (*)(GLuint, GLenum))f)(id, t); }
static void q_Enum(void* f, GLenum e) { ((void (*)(GLenum))f)(e); }
static void q_GetQueryObjectui64v(void* f, GLuint id, GLenum n, GLuint64* v) { ((void (*)(GLuint, GLenum, GLuint64*))f)(id, n, v); }
static void q_DebugMessageControlAll(void* f, GLboolean on) {
	((void (*)(GLenum, GLenum, GLenum, GLsizei, const GLuint*, GLboolean))f)(0x1100, 0x1100, 0x1100, 0, NULL, on);
}
static GLuint q_GetDebugMessageLog(void* f, GLuint count, GLsizei bufSize, GLenum* src, GLenum* typ, GLuint* ids, GLenum* sev, GLsizei* lens, GLchar* log) {
	return ((GLuint (*)(GLuint, GLsizei, GLenum*, GLenum*, GLuint*, GLenum*, GLsizei*, GLchar*))f)(count, bufSize, src, typ, ids, sev, lens, log);
}
static GLint q_GetUniformLocation(void* f, GLuint p, const char* name) { return ((GLint (*)(GLuint, const GLchar*))f)(p, name); }
static void q_ProgramUniformv(void* f, GLuint p, GLint loc, GLsizei n, const void* v) { ((void (*)(GLuint, GLint, GLsizei, const void*))f)(p, loc, n, v); }
*/
import "C"

import (
	"fmt"
	"strings"
	"unsafe"
)

// GL entry points the runtime uses, in table order.
const (
	fGetError = iota
	fGetString
	fGetStringi
	fGetIntegerv
	fGetIntegeri_v
	fGetInteger64v
	fCreateShader
	fShaderSource
	fCompileShader
	fGetShaderiv
	fGetShaderInfoLog
	fDeleteShader
	fCreateProgram
	fAttachShader
	fDetachShader
	fLinkProgram
	fGetProgramiv
	fGetProgramInfoLog
	fDeleteProgram
	fGetProgramInterfaceiv
	fGetProgramResourceiv
	fUseProgram
	fGenBuffers
	fDeleteBuffers
	fBindBuffer
	fBufferData
	fBufferSubData
	fGetBufferSubData
	fBindBufferRange
	fCopyBufferSubData
	fClearBufferSubData
	fDispatchCompute
	fMemoryBarrier
	fFinish
	fFlush
	fGenQueries
	fDeleteQueries
	fBeginQuery
	fEndQuery
	fGetQueryObjectui64v
	fEnable
	fDebugMessageControl
	fGetDebugMessageLog
	fGetUniformLocation
	fProgramUniform1uiv
	fProgramUniform1iv
	fProgramUniform1fv
	fGetQueryiv
	fQueryCounter
	nFuncs
)

var glNames = [nFuncs]string{
	"glGetError", "glGetString", "glGetStringi", "glGetIntegerv", "glGetIntegeri_v", "glGetInteger64v",
	"glCreateShader", "glShaderSource", "glCompileShader", "glGetShaderiv", "glGetShaderInfoLog", "glDeleteShader",
	"glCreateProgram", "glAttachShader", "glDetachShader", "glLinkProgram", "glGetProgramiv", "glGetProgramInfoLog",
	"glDeleteProgram", "glGetProgramInterfaceiv", "glGetProgramResourceiv", "glUseProgram",
	"glGenBuffers", "glDeleteBuffers", "glBindBuffer", "glBufferData", "glBufferSubData", "glGetBufferSubData",
	"glBindBufferRange", "glCopyBufferSubData", "glClearBufferSubData",
	"glDispatchCompute", "glMemoryBarrier", "glFinish", "glFlush",
	"glGenQueries", "glDeleteQueries", "glBeginQuery", "glEndQuery", "glGetQueryObjectui64v",
	"glEnable", "glDebugMessageControl", "glGetDebugMessageLog",
	"glGetUniformLocation", "glProgramUniform1uiv", "glProgramUniform1iv", "glProgramUniform1fv",
	"glGetQueryiv",
	"glQueryCounter",
}

// glapi is one context's GL function table. Use it only on the owner thread.
type glapi struct {
	f [nFuncs]unsafe.Pointer
}

// loadGL resolves every entry point through proc; a missing one is an error.
func loadGL(proc func(string) unsafe.Pointer) (*glapi, error) {
	g := new(glapi)
	var missing []string
	for i, name := range glNames {
		g.f[i] = proc(name)
		if g.f[i] == nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing GL entry points: %s", strings.Join(missing, ", "))
	}
	return g, nil
}

func (g *glapi) getError() uint32 { return uint32(C.q_GetError(g.f[fGetError])) }

func (g *glapi) getString(name uint32) string {
	return C.GoString(C.q_GetString(g.f[fGetString], C.GLenum(name)))
}

func (g *glapi) getStringi(name, i uint32) string {
	return C.GoString(C.q_GetStringi(g.f[fGetStringi], C.GLenum(name), C.GLuint(i)))
}

func (g *glapi) getInteger(name uint32) int {
	var v C.GLint
	C.q_GetIntegerv(g.f[fGetIntegerv], C.GLenum(name), &v)
	return int(v)
}

func (g *glapi) getIntegeri(name, i uint32) int {
	var v C.GLint
	C.q_GetIntegeri_v(g.f[fGetIntegeri_v], C.GLenum(name), C.GLuint(i), &v)
	return int(v)
}

func (g *glapi) getInteger64(name uint32) int64 {
	var v C.GLint64
	C.q_GetInteger64v(g.f[fGetInteger64v], C.GLenum(name), &v)
	return int64(v)
}

func (g *glapi) createShader(typ uint32) uint32 {
	return uint32(C.q_CreateShader(g.f[fCreateShader], C.GLenum(typ)))
}

func (g *glapi) shaderSource(sh uint32, src string) {
	cs := C.CString(src)
	defer C.free(unsafe.Pointer(cs))
	C.q_ShaderSource(g.f[fShaderSource], C.GLuint(sh), cs, C.GLint(len(src)))
}

func (g *glapi) compileShader(sh uint32) { C.q_U(g.f[fCompileShader], C.GLuint(sh)) }
func (g *glapi) deleteShader(sh uint32)  { C.q_U(g.f[fDeleteShader], C.GLuint(sh)) }

func (g *glapi) getShaderiv(sh, name uint32) int {
	var v C.GLint
	C.q_GetObjectiv(g.f[fGetShaderiv], C.GLuint(sh), C.GLenum(name), &v)
	return int(v)
}

func (g *glapi) shaderInfoLog(sh uint32) string {
	return g.infoLog(g.f[fGetShaderInfoLog], sh, g.getShaderiv(sh, glINFO_LOG_LENGTH))
}

func (g *glapi) infoLog(f unsafe.Pointer, obj uint32, n int) string {
	if n <= 0 {
		return ""
	}
	buf := (*C.GLchar)(C.malloc(C.size_t(n + 1)))
	defer C.free(unsafe.Pointer(buf))
	var l C.GLsizei
	C.q_GetInfoLog(f, C.GLuint(obj), C.GLsizei(n+1), &l, buf)
	return C.GoStringN(buf, C.int(l))
}

func (g *glapi) createProgram() uint32     { return uint32(C.q_CreateProgram(g.f[fCreateProgram])) }
func (g *glapi) attachShader(p, sh uint32) { C.q_UU(g.f[fAttachShader], C.GLuint(p), C.GLuint(sh)) }
func (g *glapi) detachShader(p, sh uint32) { C.q_UU(g.f[fDetachShader], C.GLuint(p), C.GLuint(sh)) }
func (g *glapi) linkProgram(p uint32)      { C.q_U(g.f[fLinkProgram], C.GLuint(p)) }
func (g *glapi) deleteProgram(p uint32)    { C.q_U(g.f[fDeleteProgram], C.GLuint(p)) }
func (g *glapi) useProgram(p uint32)       { C.q_U(g.f[fUseProgram], C.GLuint(p)) }

// getProgramiv reads up to len(dst) integers (GL_COMPUTE_WORK_GROUP_SIZE has 3).
func (g *glapi) getProgramiv(p, name uint32, dst []int32) {
	var v [4]C.GLint
	C.q_GetObjectiv(g.f[fGetProgramiv], C.GLuint(p), C.GLenum(name), &v[0])
	for i := range dst {
		dst[i] = int32(v[i])
	}
}

func (g *glapi) programInfoLog(p uint32) string {
	var n [1]int32
	g.getProgramiv(p, glINFO_LOG_LENGTH, n[:])
	return g.infoLog(g.f[fGetProgramInfoLog], p, int(n[0]))
}

func (g *glapi) programInterface(p, iface, name uint32) int {
	var v C.GLint
	C.q_GetProgramInterfaceiv(g.f[fGetProgramInterfaceiv], C.GLuint(p), C.GLenum(iface), C.GLenum(name), &v)
	return int(v)
}

func (g *glapi) programResource(p, iface, idx, prop uint32) int {
	var v C.GLint
	C.q_GetProgramResourceiv(g.f[fGetProgramResourceiv], C.GLuint(p), C.GLenum(iface), C.GLuint(idx), C.GLenum(prop), &v)
	return int(v)
}

func (g *glapi) genBuffer() uint32 {
	var id C.GLuint
	C.q_GenOne(g.f[fGenBuffers], &id)
	return uint32(id)
}

func (g *glapi) deleteBuffer(id uint32) { C.q_DeleteOne(g.f[fDeleteBuffers], C.GLuint(id)) }

func (g *glapi) bindBuffer(target, id uint32) {
	C.q_BindBuffer(g.f[fBindBuffer], C.GLenum(target), C.GLuint(id))
}

// bufferData (re)specifies the bound buffer; data may be nil (contents undefined).
func (g *glapi) bufferData(target uint32, size int, data []byte, usage uint32) {
	var p unsafe.Pointer
	if len(data) > 0 {
		p = unsafe.Pointer(&data[0])
	}
	C.q_BufferData(g.f[fBufferData], C.GLenum(target), C.GLsizeiptr(size), p, C.GLenum(usage))
}

func (g *glapi) bufferSubData(target uint32, off int, data []byte) {
	if len(data) == 0 {
		return
	}
	C.q_BufferSubData(g.f[fBufferSubData], C.GLenum(target), C.GLintptr(off), C.GLsizeiptr(len(data)), unsafe.Pointer(&data[0]))
}

func (g *glapi) getBufferSubData(target uint32, off int, dst []byte) {
	if len(dst) == 0 {
		return
	}
	C.q_GetBufferSubData(g.f[fGetBufferSubData], C.GLenum(target), C.GLintptr(off), C.GLsizeiptr(len(dst)), unsafe.Pointer(&dst[0]))
}

func (g *glapi) bindBufferRange(target, index, id uint32, off, size int) {
	C.q_BindBufferRange(g.f[fBindBufferRange], C.GLenum(target), C.GLuint(index), C.GLuint(id), C.GLintptr(off), C.GLsizeiptr(size))
}

func (g *glapi) copyBufferSubData(rt, wt uint32, ro, wo, n int) {
	C.q_CopyBufferSubData(g.f[fCopyBufferSubData], C.GLenum(rt), C.GLenum(wt), C.GLintptr(ro), C.GLintptr(wo), C.GLsizeiptr(n))
}

func (g *glapi) clearBufferZero(target uint32, off, n int) {
	C.q_ClearBufferSubDataZero(g.f[fClearBufferSubData], C.GLenum(target), C.GLintptr(off), C.GLsizeiptr(n))
}

func (g *glapi) dispatchCompute(x, y, z uint32) {
	C.q_DispatchCompute(g.f[fDispatchCompute], C.GLuint(x), C.GLuint(y), C.GLuint(z))
}

func (g *glapi) memoryBarrier(bits uint32) { C.q_Bits(g.f[fMemoryBarrier], C.GLbitfield(bits)) }
func (g *glapi) finish()                   { C.q_Void(g.f[fFinish]) }
func (g *glapi) flush()                    { C.q_Void(g.f[fFlush]) }

func (g *glapi) genQuery() uint32 {
	var id C.GLuint
	C.q_GenOne(g.f[fGenQueries], &id)
	return uint32(id)
}

func (g *glapi) deleteQuery(id uint32) { C.q_DeleteOne(g.f[fDeleteQueries], C.GLuint(id)) }

func (g *glapi) beginQuery(target, id uint32) {
	C.q_BeginQuery(g.f[fBeginQuery], C.GLenum(target), C.GLuint(id))
}

func (g *glapi) endQuery(target uint32) { C.q_Enum(g.f[fEndQuery], C.GLenum(target)) }

// queryResult waits for and returns a query's 64-bit result.
func (g *glapi) queryResult(id uint32) uint64 {
	var v C.GLuint64
	C.q_GetQueryObjectui64v(g.f[fGetQueryObjectui64v], C.GLuint(id), C.GLenum(glQUERY_RESULT), &v)
	return uint64(v)
}

func (g *glapi) enable(cap uint32) { C.q_Enum(g.f[fEnable], C.GLenum(cap)) }

func (g *glapi) debugMessageControlAll(on bool) {
	var b C.GLboolean
	if on {
		b = 1
	}
	C.q_DebugMessageControlAll(g.f[fDebugMessageControl], b)
}

// debugMessages drains up to max messages from the KHR_debug log.
func (g *glapi) debugMessages(max int) []DebugMessage {
	var out []DebugMessage
	maxLen := g.getInteger(glMAX_DEBUG_MESSAGE_LENGTH)
	if maxLen <= 0 {
		maxLen = 1024
	}
	const batch = 16
	bufSize := batch * maxLen
	buf := (*C.GLchar)(C.malloc(C.size_t(bufSize)))
	defer C.free(unsafe.Pointer(buf))
	var src, typ, sev [batch]C.GLenum
	var ids [batch]C.GLuint
	var lens [batch]C.GLsizei
	for len(out) < max {
		n := int(C.q_GetDebugMessageLog(g.f[fGetDebugMessageLog], batch, C.GLsizei(bufSize),
			&src[0], &typ[0], &ids[0], &sev[0], &lens[0], buf))
		if n == 0 {
			break
		}
		all := C.GoBytes(unsafe.Pointer(buf), C.int(bufSize))
		off := 0
		for i := 0; i < n; i++ {
			l := int(lens[i]) // includes the terminating NUL
			msg := all[off : off+l]
			off += l
			out = append(out, DebugMessage{
				Source: uint32(src[i]), Type: uint32(typ[i]), Severity: uint32(sev[i]), ID: uint32(ids[i]),
				Message: strings.TrimRight(string(msg), "\x00\n"),
			})
		}
	}
	return out
}

func (g *glapi) uniformLocation(p uint32, name string) int32 {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return int32(C.q_GetUniformLocation(g.f[fGetUniformLocation], C.GLuint(p), cs))
}

// programUniform sets a scalar or array uniform of uint (kind 0), int (1) or
// float (2) base type from 32-bit words.
func (g *glapi) programUniform(p uint32, loc int32, kind int, words []uint32) {
	if len(words) == 0 {
		return
	}
	f := g.f[fProgramUniform1uiv+kind]
	C.q_ProgramUniformv(f, C.GLuint(p), C.GLint(loc), C.GLsizei(len(words)), unsafe.Pointer(&words[0]))
}

func (g *glapi) getQueryiv(target, name uint32) int {
	var v C.GLint
	C.q_GetObjectiv(g.f[fGetQueryiv], C.GLuint(target), C.GLenum(name), &v)
	return int(v)
}

// queryCounter records the GPU time into query id (glQueryCounter(GL_TIMESTAMP)).
func (g *glapi) queryCounter(id uint32) {
	C.q_QueryCounter(g.f[fQueryCounter], C.GLuint(id), C.GLenum(glTIMESTAMP))
}
