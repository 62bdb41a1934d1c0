package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/engine/backend"
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

// exitCode maps an error to the process exit status.
func exitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, helpShown):
		return 0
	case errors.As(err, new(usageError)):
		return 2
	}
	return 1
}

// engineErr classifies an error from the engine: invalid shapes and
// parameters are the caller's mistake (2), the rest failures (1).
func engineErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, engine.ErrShape) || errors.Is(err, engine.ErrParams) {
		return asUsage(err)
	}
	return err
}

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
			return nil, fmt.Errorf("%q is not a list of integers separated by %q", s, sep)
		}
		out[i] = v
	}
	return out, nil
}
