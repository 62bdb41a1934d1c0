package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/qgpu/qgpu/backends/cpu"
)

// cpuISAs are the CPU backend's kernel sets that --isa names.
var cpuISAs = []cpu.ISA{cpu.ISAAVX512, cpu.ISAAVX2, cpu.ISAGeneric}

// isaFlag adds --isa to fs: the instruction set of the CPU backend's fast
// kernels for the whole command.
func isaFlag(fs *flag.FlagSet) *string {
	var names []string
	for _, v := range cpuISAs {
		names = append(names, v.String())
	}
	return fs.String("isa", "auto", "CPU kernels' instruction set: auto (the best this CPU has), "+strings.Join(names, ", "))
}

// applyISA switches the CPU kernels to the instruction set named by --isa
// ("auto" leaves the best one) and returns the function that restores it.
func applyISA(cmd, name string) (restore func(), err error) {
	if name == "auto" || name == "" {
		return func() {}, nil
	}
	if name == "avx512vnni" { // the name before the kernel packages shared one ISA type
		name = cpu.ISAAVX512.String()
	}
	var names []string
	for _, v := range cpuISAs {
		if v.String() == name {
			if !cpu.SupportedISA(v) {
				return nil, fmt.Errorf("%s: --isa %s: this CPU (or build) lacks it", cmd, name)
			}
			return cpu.SetISA(v)
		}
		names = append(names, v.String())
	}
	return nil, usagef("%s: --isa %q: want auto, %s", cmd, name, strings.Join(names, ", "))
}
