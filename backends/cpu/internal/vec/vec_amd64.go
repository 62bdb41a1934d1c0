//go:build amd64 && !purego

package vec

import "golang.org/x/sys/cpu"

//go:generate go run -C asmgen . -out ../vec_amd64.s -stubs ../stub_amd64.go -pkg vec

// hasAVX512 reports AVX-512 F support; x/sys/cpu also checks that the OS
// saves the zmm and opmask state. Every generated kernel uses AVX-512 F
// instructions only.
var hasAVX512 = cpu.X86.HasAVX512F

// hasAVX512BWVL reports AVX-512 BW and VL besides F: the byte transpose
// uses byte unpacks on Y16-Y31.
var hasAVX512BWVL = hasAVX512 && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL

// hasAVX2 reports AVX2 support (x/sys/cpu checks the OS saves the ymm
// state).
var hasAVX2 = cpu.X86.HasAVX2
