package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/internal/safefile"
	"github.com/qgpu/qgpu/qtensor"
)

// usageError is a mistake of the caller (bad flag, argument or input
// file): exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// helpShown is returned after -h printed the usage: exit status 0.
var helpShown = errors.New("help shown")

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// asUsage marks err as a usage error (nil stays nil).
func asUsage(err error) error {
	if err == nil {
		return nil
	}
	var u usageError
	if errors.As(err, &u) {
		return err
	}
	return usageError{err}
}

// exitCode maps an error to the process exit status, by one rule for
// every command: 0 for none (and after -h); 2 for bad input or usage: a
// usage error (bad flags or arguments, unreadable or malformed input
// files), or an error wrapping engine.ErrShape or engine.ErrParams
// (shapes, parameters or values that cannot be quantized; qtensor's
// sentinels are the same), qtensor.ErrFormat (a corrupt file) or
// safefile.ErrPath (an output path that cannot be written: a directory, a
// missing directory, the input itself); 1 for a failure to do valid work
// (a backend unavailable or failing, out of memory, an unsupported op, an
// I/O error, failed conformance cases).
func exitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, helpShown):
		return 0
	case errors.As(err, new(usageError)),
		errors.Is(err, engine.ErrShape), errors.Is(err, engine.ErrParams),
		errors.Is(err, qtensor.ErrFormat), errors.Is(err, safefile.ErrPath):
		return 2
	}
	return 1
}

// sameFileErr is a usage error when output (an --out or --plot path) is
// one of the input files (also through symbolic or hard links): writing
// it would destroy the input.
func sameFileErr(cmd, output string, inputs ...string) error {
	for _, in := range inputs {
		if in != "" && output != "" && safefile.Same(in, output) {
			return usagef("%s: output %s is the input file %s", cmd, output, in)
		}
	}
	return nil
}

// shortQ quotes an argument for a message, cut to its first 48 bytes when
// longer (with its length), so that a huge argument does not make a huge
// message.
func shortQ(s string) string {
	const max = 48
	if len(s) <= max {
		return strconv.Quote(s)
	}
	n := max
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return fmt.Sprintf("%s... (%d bytes)", strconv.Quote(s[:n]), len(s))
}

// shortInts formats a list of integers for a message: the first 8 and the
// count when longer.
func shortInts(v []int) string {
	if len(v) <= 8 {
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("%v... (%d values)", strings.TrimSuffix(fmt.Sprint(v[:8]), "]"), len(v))
}

// quoteName quotes a name read from a file (a tensor name, a metadata
// key) for printing: control characters and escape sequences are shown
// escaped, never sent to the terminal.
func quoteName(s string) string { return strconv.Quote(s) }

// checkThreads validates a --threads value: 0 (one per CPU) up to 64 per
// CPU (engine.Options.Threads' bound).
func checkThreads(cmd string, n int) error {
	if n < 0 || n > backend.MaxThreads() {
		return usagef("%s: --threads %d outside [0, %d] (0: one per CPU; at most 64 per CPU)", cmd, n, backend.MaxThreads())
	}
	return nil
}

// flagSet is a flag.FlagSet for one subcommand with its usage text.
type flagSet struct {
	*flag.FlagSet
	name     string
	synopsis string // "qgpu run <Op> [flags]"
	about    string // what the command does
	examples string
	stdout   io.Writer
}

func newFlagSet(name, synopsis, about, examples string, stdout io.Writer) *flagSet {
	fs := flag.NewFlagSet("qgpu "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &flagSet{FlagSet: fs, name: name, synopsis: synopsis, about: about, examples: examples, stdout: stdout}
}

func (f *flagSet) printUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", f.synopsis, strings.TrimSpace(f.about))
	n := 0
	f.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(w, "\nFlags:")
		f.SetOutput(w)
		f.PrintDefaults()
		f.SetOutput(io.Discard)
	}
	if f.examples != "" {
		fmt.Fprintf(w, "\nExamples:\n%s\n", strings.Trim(f.examples, "\n"))
	}
}

// parse parses args, allowing flags and positional arguments to be
// interleaved ("--" ends the flags). It returns the positional arguments,
// helpShown after printing the usage for -h, or a usage error.
func (f *flagSet) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				f.printUsage(f.stdout)
				return nil, helpShown
			}
			return nil, usagef("%s: %v (qgpu %s -h for usage)", f.name, err, f.name)
		}
		rest := f.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// flag stops at the first non-flag or after "--"; tell them apart.
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, " ") }
func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// parseInts parses "1,2,3" (also "1x2x3" when sep is "x").
func parseInts(s, sep string) ([]int, error) {
	parts := strings.Split(s, sep)
	out := make([]int, len(parts))
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return nil, fmt.Errorf("%s is not a list of integers separated by %q (value %d: %s)", shortQ(s), sep, i, shortQ(p))
		}
		out[i] = v
	}
	return out, nil
}
