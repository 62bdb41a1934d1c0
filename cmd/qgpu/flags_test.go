package main

import (
	"strings"
	"testing"
)

// commandFlags parses the -h output of a command (with its subcommand,
// if any) into its flags: name, whether it takes a value, and its usage
// text.
func commandFlags(t *testing.T, cmd []string) []struct {
	name, usage string
	value       bool
} {
	t.Helper()
	code, out, _ := qgpu(t, append(cmd, "-h")...)
	if code != 0 {
		t.Fatalf("%q -h: exit %d", cmd, code)
	}
	var flags []struct {
		name, usage string
		value       bool
	}
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "  -") {
			continue
		}
		f := strings.Fields(l)
		usage := ""
		if i+1 < len(lines) {
			usage = lines[i+1]
		}
		flags = append(flags, struct {
			name, usage string
			value       bool
		}{strings.TrimLeft(f[0], "-"), usage, len(f) > 1})
	}
	return flags
}

// TestRepeatedFlags gives every flag of every command twice: a flag whose
// help says it is repeatable accepts it (each occurrence adds a value:
// calibrate's files are batches, run's inputs and outputs, bench's
// backends and shapes); every other one is refused with a usage error
// naming it, never silently the last value.
func TestRepeatedFlags(t *testing.T) {
	seen := 0
	for _, cmd := range commandsAndSubcommands(t) {
		name := strings.Join(cmd, " ")
		for _, f := range commandFlags(t, cmd) {
			seen++
			// Documented repeatable: "repeatable", "repeat the flag", "once
			// per graph input" (a list in order).
			repeatable := strings.Contains(f.usage, "repeat") || strings.Contains(f.usage, "once per")
			// The first value must parse: try values until one does.
			var code int
			var stderr string
			for _, v := range []string{"1", "1s", "x"} {
				args := append(append([]string(nil), cmd...), "--"+f.name, v, "--"+f.name, v)
				if !f.value {
					args = append(append([]string(nil), cmd...), "--"+f.name, "--"+f.name)
				}
				code, _, stderr = qgpu(t, args...)
				if !strings.Contains(stderr, "invalid value") {
					break
				}
			}
			twice := strings.Contains(stderr, " --"+f.name+" given twice")
			if repeatable && twice {
				t.Errorf("%s --%s is documented repeatable but refused: %s", name, f.name, stderr)
			}
			if !repeatable && (code != 2 || !twice) {
				t.Errorf("%s --%s given twice: exit %d, %q; want a usage error naming it", name, f.name, code, stderr)
			}
		}
	}
	if seen < 50 {
		t.Errorf("only %d flags found in the commands' help", seen)
	}
}

// commandsAndSubcommands lists every command, and for a command whose help
// has a "Subcommands:" section, each of its subcommands ("model info").
func commandsAndSubcommands(t *testing.T) [][]string {
	var out [][]string
	for name := range commands {
		_, help, _ := qgpu(t, name, "-h")
		_, subs, ok := strings.Cut(help, "\nSubcommands:\n")
		if !ok {
			out = append(out, []string{name})
			continue
		}
		subs, _, _ = strings.Cut(subs, "\n\n")
		for _, l := range strings.Split(subs, "\n") {
			if f := strings.Fields(l); len(f) > 1 && strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "   ") {
				out = append(out, []string{name, f[0]})
			}
		}
	}
	return out
}
