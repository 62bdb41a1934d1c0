//go:build cgo

package glrt

/*
#cgo linux LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Own EGL declarations (values from Khronos egl.h/eglext.h) so the build needs
// no EGL headers; libEGL.so.1 is opened at run time.
typedef int32_t EGLint;
typedef unsigned int EGLBoolean;
typedef unsigned int EGLenum;
typedef void* EGLDisplay;
typedef void* EGLContext;
typedef void* EGLConfig;
typedef void* EGLSurface;
typedef void* EGLDeviceEXT;

#define Q_EGL_SUCCESS 0x3000
#define Q_EGL_VENDOR 0x3053
#define Q_EGL_VERSION 0x3054
#define Q_EGL_EXTENSIONS 0x3055
#define Q_EGL_OPENGL_API 0x30A2
#define Q_EGL_NONE 0x3038
#define Q_EGL_CONTEXT_MAJOR_VERSION 0x3098
#define Q_EGL_CONTEXT_MINOR_VERSION 0x30FB
#define Q_EGL_CONTEXT_OPENGL_PROFILE_MASK 0x30FD
#define Q_EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT 0x1
#define Q_EGL_CONTEXT_FLAGS_KHR 0x30FC
#define Q_EGL_CONTEXT_OPENGL_DEBUG_BIT_KHR 0x1
#define Q_EGL_PLATFORM_SURFACELESS_MESA 0x31DD
#define Q_EGL_PLATFORM_DEVICE_EXT 0x313F
#define Q_EGL_DRM_DEVICE_FILE_EXT 0x3233

typedef void* (*PFN_GetProcAddress)(const char*);
typedef EGLint (*PFN_GetError)(void);
typedef const char* (*PFN_QueryString)(EGLDisplay, EGLint);
typedef EGLDisplay (*PFN_GetDisplay)(void*);
typedef EGLDisplay (*PFN_GetPlatformDisplayEXT)(EGLenum, void*, const EGLint*);
typedef EGLBoolean (*PFN_Initialize)(EGLDisplay, EGLint*, EGLint*);
typedef EGLBoolean (*PFN_Terminate)(EGLDisplay);
typedef EGLBoolean (*PFN_BindAPI)(EGLenum);
typedef EGLContext (*PFN_CreateContext)(EGLDisplay, EGLConfig, EGLContext, const EGLint*);
typedef EGLBoolean (*PFN_DestroyContext)(EGLDisplay, EGLContext);
typedef EGLBoolean (*PFN_MakeCurrent)(EGLDisplay, EGLSurface, EGLSurface, EGLContext);
typedef EGLBoolean (*PFN_ReleaseThread)(void);
typedef EGLBoolean (*PFN_QueryDevicesEXT)(EGLint, EGLDeviceEXT*, EGLint*);
typedef const char* (*PFN_QueryDeviceStringEXT)(EGLDeviceEXT, EGLint);

static struct {
	void* lib;
	PFN_GetProcAddress GetProcAddress;
	PFN_GetError GetError;
	PFN_QueryString QueryString;
	PFN_GetDisplay GetDisplay;
	PFN_GetPlatformDisplayEXT GetPlatformDisplayEXT;
	PFN_Initialize Initialize;
	PFN_Terminate Terminate;
	PFN_BindAPI BindAPI;
	PFN_CreateContext CreateContext;
	PFN_DestroyContext DestroyContext;
	PFN_MakeCurrent MakeCurrent;
	PFN_ReleaseThread ReleaseThread;
	PFN_QueryDevicesEXT QueryDevicesEXT;
	PFN_QueryDeviceStringEXT QueryDeviceStringEXT;
} qegl;

// qegl_load opens libEGL once per process. Called with the Go-side mutex held.
static int qegl_load(const char* libname, char* err, size_t n) {
	if (qegl.lib) return 1;
	void* lib = dlopen(libname, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		const char* e = dlerror();
		snprintf(err, n, "dlopen %s: %s", libname, e ? e : "unknown error");
		return 0;
	}
#define LOAD(field, name) qegl.field = (void*)dlsym(lib, name); \
	if (!qegl.field) { snprintf(err, n, "%s lacks %s", libname, name); dlclose(lib); memset(&qegl, 0, sizeof qegl); return 0; }
	LOAD(GetProcAddress, "eglGetProcAddress")
	LOAD(GetError, "eglGetError")
	LOAD(QueryString, "eglQueryString")
	LOAD(GetDisplay, "eglGetDisplay")
	LOAD(Initialize, "eglInitialize")
	LOAD(Terminate, "eglTerminate")
	LOAD(BindAPI, "eglBindAPI")
	LOAD(CreateContext, "eglCreateContext")
	LOAD(DestroyContext, "eglDestroyContext")
	LOAD(MakeCurrent, "eglMakeCurrent")
	LOAD(ReleaseThread, "eglReleaseThread")
#undef LOAD
	qegl.GetPlatformDisplayEXT = (PFN_GetPlatformDisplayEXT)qegl.GetProcAddress("eglGetPlatformDisplayEXT");
	qegl.QueryDevicesEXT = (PFN_QueryDevicesEXT)qegl.GetProcAddress("eglQueryDevicesEXT");
	qegl.QueryDeviceStringEXT = (PFN_QueryDeviceStringEXT)qegl.GetProcAddress("eglQueryDeviceStringEXT");
	qegl.lib = lib;
	return 1;
}

static EGLint qegl_error(void) { return qegl.GetError(); }
static const char* qegl_query(EGLDisplay d, EGLint name) { return qegl.QueryString(d, name); }
static int qegl_has_platform_display(void) { return qegl.GetPlatformDisplayEXT != NULL; }
static int qegl_has_query_devices(void) { return qegl.QueryDevicesEXT != NULL; }

static EGLDisplay qegl_platform_display(EGLenum platform, void* native) {
	return qegl.GetPlatformDisplayEXT(platform, native, NULL);
}
static EGLDisplay qegl_default_display(void) { return qegl.GetDisplay(NULL); }

// qegl_devices fills up to max devices; returns the count or -1.
static int qegl_devices(EGLDeviceEXT* devs, int max) {
	EGLint n = 0;
	if (!qegl.QueryDevicesEXT(max, devs, &n)) return -1;
	return n;
}
static const char* qegl_device_file(EGLDeviceEXT d) {
	if (!qegl.QueryDeviceStringEXT) return NULL;
	return qegl.QueryDeviceStringEXT(d, Q_EGL_DRM_DEVICE_FILE_EXT);
}

static int qegl_initialize(EGLDisplay d, EGLint* major, EGLint* minor) { return qegl.Initialize(d, major, minor) != 0; }
static int qegl_terminate(EGLDisplay d) { return qegl.Terminate(d) != 0; }
static int qegl_bind_gl(void) { return qegl.BindAPI(Q_EGL_OPENGL_API) != 0; }

static EGLContext qegl_create_context(EGLDisplay d, int major, int minor, int debug) {
	EGLint attr[] = {
		Q_EGL_CONTEXT_MAJOR_VERSION, major,
		Q_EGL_CONTEXT_MINOR_VERSION, minor,
		Q_EGL_CONTEXT_OPENGL_PROFILE_MASK, Q_EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
		Q_EGL_CONTEXT_FLAGS_KHR, debug ? Q_EGL_CONTEXT_OPENGL_DEBUG_BIT_KHR : 0,
		Q_EGL_NONE,
	};
	// EGL_NO_CONFIG_KHR is NULL (EGL_KHR_no_config_context).
	return qegl.CreateContext(d, NULL, NULL, attr);
}
static int qegl_make_current(EGLDisplay d, EGLContext c) { return qegl.MakeCurrent(d, NULL, NULL, c) != 0; }
static int qegl_destroy_context(EGLDisplay d, EGLContext c) { return qegl.DestroyContext(d, c) != 0; }
static void qegl_release_thread(void) { qegl.ReleaseThread(); }
static void* qegl_proc(const char* name) { return qegl.GetProcAddress(name); }
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unsafe"
)

var (
	eglMu sync.Mutex
	// eglDisplays counts the live contexts per initialized display: EGL
	// initialization is not reference counted, so eglTerminate runs only
	// when the last context on a display goes away.
	eglDisplays = map[C.EGLDisplay]int{}
)

func eglErrorName(code C.EGLint) string {
	names := map[C.EGLint]string{
		0x3000: "EGL_SUCCESS", 0x3001: "EGL_NOT_INITIALIZED", 0x3002: "EGL_BAD_ACCESS", 0x3003: "EGL_BAD_ALLOC",
		0x3004: "EGL_BAD_ATTRIBUTE", 0x3005: "EGL_BAD_CONFIG", 0x3006: "EGL_BAD_CONTEXT",
		0x3007: "EGL_BAD_CURRENT_SURFACE", 0x3008: "EGL_BAD_DISPLAY", 0x3009: "EGL_BAD_MATCH",
		0x300A: "EGL_BAD_NATIVE_PIXMAP", 0x300B: "EGL_BAD_NATIVE_WINDOW", 0x300C: "EGL_BAD_PARAMETER",
		0x300D: "EGL_BAD_SURFACE", 0x300E: "EGL_CONTEXT_LOST",
	}
	if s, ok := names[code]; ok {
		return s
	}
	return fmt.Sprintf("EGL error 0x%X", int(code))
}

func eglFail(what string) error {
	return fmt.Errorf("%s: %s", what, eglErrorName(C.qegl_error()))
}

type eglPlatform struct {
	name string
	dpy  C.EGLDisplay
	ctx  C.EGLContext
}

func (p *eglPlatform) Name() string { return p.name }

func (p *eglPlatform) ProcAddr(name string) unsafe.Pointer {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return C.qegl_proc(cs)
}

func (p *eglPlatform) Destroy() error {
	var errs []error
	if C.qegl_make_current(p.dpy, nil) == 0 {
		errs = append(errs, eglFail("eglMakeCurrent(none)"))
	}
	if C.qegl_destroy_context(p.dpy, p.ctx) == 0 {
		errs = append(errs, eglFail("eglDestroyContext"))
	}
	C.qegl_release_thread()
	eglMu.Lock()
	eglDisplays[p.dpy]--
	if eglDisplays[p.dpy] <= 0 {
		delete(eglDisplays, p.dpy)
		C.qegl_terminate(p.dpy)
	}
	eglMu.Unlock()
	return errors.Join(errs...)
}

// openEGL runs on the owner thread: it finds a display, makes a no-config
// OpenGL 4.3 core context and makes it current without surfaces.
func openEGL(opts Options) (Platform, error) {
	eglMu.Lock()
	defer eglMu.Unlock()
	var cerr [512]C.char
	lib := C.CString(eglLibrary)
	defer C.free(unsafe.Pointer(lib))
	if C.qegl_load(lib, &cerr[0], C.size_t(len(cerr))) == 0 {
		return nil, fmt.Errorf("%w: %s; %s", ErrUnavailable, C.GoString(&cerr[0]), eglLoaderHint)
	}
	clientExts := ""
	if s := C.qegl_query(0, C.Q_EGL_EXTENSIONS); s != nil {
		clientExts = C.GoString(s) // EGL_EXT_client_extensions
	}
	hasClient := func(name string) bool { return hasWord(clientExts, name) }

	type candidate struct {
		name string
		get  func() (C.EGLDisplay, error)
	}
	var cands []candidate
	want := opts.EGLPlatform
	if want == "" {
		want = "auto"
	}
	switch want {
	case "auto", "surfaceless", "device", "default":
	default:
		return nil, fmt.Errorf("glrt: unknown EGLPlatform %q (want auto, surfaceless, device or default)", want)
	}
	var reasons []string
	if want == "auto" || want == "surfaceless" {
		if hasClient("EGL_MESA_platform_surfaceless") && C.qegl_has_platform_display() != 0 {
			cands = append(cands, candidate{"egl/surfaceless", func() (C.EGLDisplay, error) {
				d := C.qegl_platform_display(C.Q_EGL_PLATFORM_SURFACELESS_MESA, nil)
				if d == 0 {
					return 0, eglFail("eglGetPlatformDisplayEXT(EGL_PLATFORM_SURFACELESS_MESA)")
				}
				return d, nil
			}})
		} else {
			reasons = append(reasons, "surfaceless: EGL_MESA_platform_surfaceless not offered")
		}
	}
	if want == "auto" || want == "device" {
		if hasClient("EGL_EXT_platform_device") && C.qegl_has_query_devices() != 0 && C.qegl_has_platform_display() != 0 {
			var devs [16]C.EGLDeviceEXT
			n := int(C.qegl_devices(&devs[0], C.int(len(devs))))
			if n <= 0 {
				reasons = append(reasons, "device: eglQueryDevicesEXT found no device")
			}
			for i := 0; i < n; i++ {
				dev := devs[i]
				name := fmt.Sprintf("egl/device%d", i)
				if f := C.qegl_device_file(dev); f != nil {
					name += "(" + C.GoString(f) + ")"
				}
				cands = append(cands, candidate{name, func() (C.EGLDisplay, error) {
					d := C.qegl_platform_display(C.Q_EGL_PLATFORM_DEVICE_EXT, unsafe.Pointer(dev))
					if d == 0 {
						return 0, eglFail("eglGetPlatformDisplayEXT(EGL_PLATFORM_DEVICE_EXT)")
					}
					return d, nil
				}})
			}
		} else {
			reasons = append(reasons, "device: EGL_EXT_platform_device/EGL_EXT_device_enumeration not offered")
		}
	}
	if want == "auto" || want == "default" {
		cands = append(cands, candidate{"egl/default", func() (C.EGLDisplay, error) {
			d := C.qegl_default_display()
			if d == 0 {
				return 0, eglFail("eglGetDisplay(EGL_DEFAULT_DISPLAY)")
			}
			return d, nil
		}})
	}
	for _, c := range cands {
		p, err := tryEGLDisplay(c.name, c.get, opts)
		if err == nil {
			return p, nil
		}
		reasons = append(reasons, c.name+": "+err.Error())
	}
	return nil, fmt.Errorf("%w: no EGL display gave an OpenGL 4.3 core context (%s); %s", ErrUnavailable, strings.Join(reasons, "; "), eglDriverHint)
}

// tryEGLDisplay is called with eglMu held.
func tryEGLDisplay(name string, get func() (C.EGLDisplay, error), opts Options) (Platform, error) {
	d, err := get()
	if err != nil {
		return nil, err
	}
	var major, minor C.EGLint
	if C.qegl_initialize(d, &major, &minor) == 0 {
		return nil, eglFail("eglInitialize")
	}
	ok := false
	eglDisplays[d]++
	defer func() {
		if !ok {
			eglDisplays[d]--
			if eglDisplays[d] <= 0 {
				delete(eglDisplays, d)
				C.qegl_terminate(d)
			}
		}
	}()
	exts := ""
	if s := C.qegl_query(d, C.Q_EGL_EXTENSIONS); s != nil {
		exts = C.GoString(s)
	}
	if !hasWord(exts, "EGL_KHR_no_config_context") && !hasWord(exts, "EGL_MESA_configless_context") {
		return nil, fmt.Errorf("EGL %d.%d display lacks EGL_KHR_no_config_context", major, minor)
	}
	if !hasWord(exts, "EGL_KHR_surfaceless_context") {
		return nil, fmt.Errorf("EGL %d.%d display lacks EGL_KHR_surfaceless_context", major, minor)
	}
	if !hasWord(exts, "EGL_KHR_create_context") && (major < 1 || (major == 1 && minor < 5)) {
		return nil, fmt.Errorf("EGL %d.%d display lacks EGL_KHR_create_context (needed to ask for OpenGL 4.3 core)", major, minor)
	}
	if C.qegl_bind_gl() == 0 {
		return nil, eglFail("eglBindAPI(EGL_OPENGL_API)")
	}
	debug := C.int(0)
	if opts.Debug {
		debug = 1
	}
	ctx := C.qegl_create_context(d, 4, 3, debug)
	if ctx == nil {
		return nil, eglFail("eglCreateContext(OpenGL 4.3 core)")
	}
	if C.qegl_make_current(d, ctx) == 0 {
		err := eglFail("eglMakeCurrent(no surface)")
		C.qegl_destroy_context(d, ctx)
		return nil, err
	}
	ok = true
	return &eglPlatform{name: name, dpy: d, ctx: ctx}, nil
}

func hasWord(list, w string) bool {
	for _, f := range strings.Fields(list) {
		if f == w {
			return true
		}
	}
	return false
}

// NewEGL makes a headless OpenGL 4.3 core context with EGL and starts its
// owner thread. Errors wrap ErrUnavailable when no context can be made.
func NewEGL(opts Options) (*Context, error) {
	return NewWithPlatform(opts, openEGL)
}
