//go:build amd64 && !purego

package dwconv

import "golang.org/x/sys/cpu"

//go:generate go run -C asmgen . -out ../dw_amd64.s -stubs ../stub_amd64.go -pkg dwconv

// hasAVX512 reports what the generated kernels need: AVX-512 F, BW
// (VPMOVZXWD on zmm) and VNNI (VPDPWSSD), and BMI2 (SHLX); x/sys/cpu also
// checks that the OS saves the zmm and opmask state.
var hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VNNI && cpu.X86.HasBMI2

// hasAVX2 reports AVX2 support (x/sys/cpu checks the OS saves the ymm
// state).
var hasAVX2 = cpu.X86.HasAVX2
