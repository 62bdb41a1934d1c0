//go:build amd64 && !purego

package dwconv

import (
	"testing"
	"unsafe"
)

func TestArgsLayout(t *testing.T) {
	var a args
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"src", unsafe.Offsetof(a.src), 0}, {"dst", unsafe.Offsetof(a.dst), 8},
		{"oh", unsafe.Offsetof(a.oh), 24}, {"ow", unsafe.Offsetof(a.ow), 32}, {"kh", unsafe.Offsetof(a.kh), 40},
		{"kw", unsafe.Offsetof(a.kw), 48}, {"rs", unsafe.Offsetof(a.rs), 56}, {"dhw", unsafe.Offsetof(a.dhw), 64},
		{"dw", unsafe.Offsetof(a.dw), 72}, {"ds", unsafe.Offsetof(a.ds), 80}, {"init", unsafe.Offsetof(a.init), 88},
		{"zp", unsafe.Offsetof(a.zp), 92}, {"m", unsafe.Offsetof(a.m), 96}, {"lo", unsafe.Offsetof(a.lo), 100},
		{"hi", unsafe.Offsetof(a.hi), 104}, {"w", unsafe.Offsetof(a.w), 108},
	} {
		if c.got != c.want {
			t.Errorf("args.%s at offset %d, the kernels read it at %d", c.name, c.got, c.want)
		}
	}
}

func TestNHWCArgsLayout(t *testing.T) {
	var a nhwcArgs
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"src", unsafe.Offsetof(a.src), 0}, {"dst", unsafe.Offsetof(a.dst), 8}, {"w", unsafe.Offsetof(a.w), 16},
		{"init", unsafe.Offsetof(a.init), 24}, {"oh", unsafe.Offsetof(a.oh), 32}, {"ow", unsafe.Offsetof(a.ow), 40},
		{"kh", unsafe.Offsetof(a.kh), 48}, {"kw", unsafe.Offsetof(a.kw), 56}, {"c", unsafe.Offsetof(a.c), 64},
		{"row", unsafe.Offsetof(a.row), 72}, {"col", unsafe.Offsetof(a.col), 80}, {"dh", unsafe.Offsetof(a.dh), 88},
		{"dw", unsafe.Offsetof(a.dw), 96}, {"wcell", unsafe.Offsetof(a.wcell), 104}, {"khLeft", unsafe.Offsetof(a.khLeft), 112},
	} {
		if c.got != c.want {
			t.Errorf("nhwcArgs.%s at offset %d, the kernels read it at %d", c.name, c.got, c.want)
		}
	}
}
