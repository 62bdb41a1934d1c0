package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// The model command until the model runtime's cmd/qgpu/model.go (info,
// run, bench) lands: it dispatches to modelSubcommands only. When model.go
// arrives, this file goes and model.go's dispatch consults
// modelSubcommands.

func init() {
	register(&command{name: "model", summary: "ONNX models: quantize (post-training), compare (error report)", run: cmdModelDispatch})
}

func cmdModelDispatch(args []string, stdout, stderr io.Writer) error {
	var subs []string
	for s := range modelSubcommands {
		subs = append(subs, s)
	}
	slices.Sort(subs)
	if len(args) == 0 {
		return usagef("model: want a subcommand: %s (qgpu model -h)", strings.Join(subs, ", "))
	}
	if f, ok := modelSubcommands[args[0]]; ok {
		return f(args[1:], stdout, stderr)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprintf(stdout, "Usage: qgpu model <%s> [flags]\n\nRun 'qgpu model <subcommand> -h' for its flags.\n", strings.Join(subs, "|"))
		return helpShown
	}
	return usagef("model: unknown subcommand %q (want %s)", args[0], strings.Join(subs, ", "))
}
