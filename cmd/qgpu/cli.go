package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/internal/safefile"
	"github.com/qgpu/qgpu/internal/suggest"
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

// didYouMean is " (did you mean X?)" for the name of names nearest to s,
// or "".
func didYouMean(s string, names []string) string {
	if n := suggest.Nearest(s, names); n != "" {
		return " (did you mean " + n + "?)"
	}
	return ""
}

// checkThreads validates a --threads value: 0 (one per CPU) up to 64 per
// CPU (engine.Config.Threads' bound).
func checkThreads(cmd string, n int) error {
	if n < 0 || n > backend.MaxThreads() {
		return usagef("%s: --threads %d outside [0, %d] (0: one per CPU; at most 64 per CPU)", cmd, n, backend.MaxThreads())
	}
	return nil
}

// flagSet is a flag.FlagSet for one subcommand with its usage text. Every
// flag takes one value and may be given once, except those whose Value is
// a repeatable (stringList): giving another flag twice is a usage error,
// never the last value silently.
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

// given returns the names of the flags set on the command line.
func (f *flagSet) given() map[string]bool {
	g := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { g[fl.Name] = true })
	return g
}

// repeatable is implemented by flag values that may be given several
// times (each occurrence adds a value).
type repeatable interface{ repeatable() }

// errRepeated is what onceValue.Set returns for a second occurrence.
var errRepeated = errors.New("given more than once")

// onceValue wraps a flag's Value during parsing and refuses a second Set.
type onceValue struct {
	flag.Value
	set      bool
	first    string  // the value of the first occurrence
	repeated *string // set to the flag's name on a second occurrence
	name     string
}

func (o *onceValue) Set(s string) error {
	if o.set {
		*o.repeated = o.name
		return errRepeated
	}
	o.set, o.first = true, s
	return o.Value.Set(s)
}

func (o *onceValue) IsBoolFlag() bool {
	b, ok := o.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// parse parses args, allowing flags and positional arguments to be
// interleaved ("--" ends the flags). It returns the positional arguments,
// helpShown after printing the usage for -h, or a usage error (a flag
// that is not repeatable given twice is one).
func (f *flagSet) parse(args []string) ([]string, error) {
	guards := map[string]*onceValue{}
	repeated := ""
	f.VisitAll(func(fl *flag.Flag) {
		if _, ok := fl.Value.(repeatable); !ok {
			g := &onceValue{Value: fl.Value, repeated: &repeated, name: fl.Name}
			guards[fl.Name], fl.Value = g, g
		}
	})
	defer f.VisitAll(func(fl *flag.Flag) {
		if g, ok := guards[fl.Name]; ok {
			fl.Value = g.Value
		}
	})
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if g := guards[repeated]; g != nil {
				return nil, usagef("%s: --%s given twice (first %s): it takes one value (qgpu %s -h)", f.name, repeated, shortQ(g.first), f.name)
			}
			return nil, f.parseError(err)
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

// parseError turns an error of flag.Parse into the command's message.
func (f *flagSet) parseError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		f.printUsage(f.stdout)
		return helpShown
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		var names []string
		f.VisitAll(func(fl *flag.Flag) { names = append(names, fl.Name) })
		if s := suggest.Nearest(strings.TrimLeft(name, "-"), names); s != "" {
			msg += " (did you mean --" + s + "?)"
		}
	}
	return usagef("%s: %s (qgpu %s -h for usage)", f.name, msg, f.name)
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, " ") }
func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}
func (*stringList) repeatable() {}

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

// targetFlags are the flags that choose a quantization target: --dtype,
// --scheme, --reduce-range, and (with qrange) --qmin and --qmax.
type targetFlags struct {
	dtype, scheme *string
	reduce        *bool
	qmin, qmax    *int
}

// addTargetFlags adds the target flags with the given default dtype.
func addTargetFlags(fs *flagSet, defDType string, qrange bool) *targetFlags {
	t := &targetFlags{
		dtype:  fs.String("dtype", defDType, "target type: uint8, int8, int4 or uint4"),
		scheme: fs.String("scheme", "affine", "affine or symmetric"),
		reduce: fs.Bool("reduce-range", false, "halve the integer range (PyTorch reduce_range)"),
	}
	if qrange {
		t.qmin = fs.Int("qmin", 0, "custom integer range: lowest value `A` (with --qmax)")
		t.qmax = fs.Int("qmax", 0, "custom integer range: highest value `B` (with --qmin)")
	}
	return t
}

// target validates the flags and returns the calib.Target they name.
func (t *targetFlags) target(cmd string, given map[string]bool) (calib.Target, error) {
	var tg calib.Target
	d, err := qtensor.ParseDType(*t.dtype)
	if err != nil || !d.Quantized() {
		return tg, usagef("%s: --dtype %q: want uint8, int8, int4 or uint4", cmd, *t.dtype)
	}
	tg = calib.Target{DType: d, ReduceRange: *t.reduce}
	switch *t.scheme {
	case "affine":
		tg.Scheme = calib.Affine
	case "symmetric":
		tg.Scheme = calib.Symmetric
	default:
		return tg, usagef("%s: --scheme %q: want affine or symmetric%s", cmd, *t.scheme, didYouMean(*t.scheme, []string{"affine", "symmetric"}))
	}
	if t.qmin != nil {
		if given["qmin"] != given["qmax"] {
			return tg, usagef("%s: --qmin and --qmax go together", cmd)
		}
		if given["qmin"] {
			lo, hi := *t.qmin, *t.qmax
			if lo < -1<<31 || lo > 1<<31-1 || hi < -1<<31 || hi > 1<<31-1 {
				return tg, usagef("%s: --qmin/--qmax out of range", cmd)
			}
			tg.Custom, tg.QMin, tg.QMax = true, int32(lo), int32(hi)
		}
	}
	if _, _, err := tg.Range(); err != nil {
		return tg, asUsage(fmt.Errorf("%s: %w", cmd, err))
	}
	if tg.Scheme == calib.Symmetric {
		if _, err := tg.ZeroPointSymmetric(); err != nil {
			return tg, asUsage(fmt.Errorf("%s: %w", cmd, err))
		}
	}
	return tg, nil
}

// axisIndex resolves a possibly negative axis for rank, or a usage error.
func axisIndex(cmd string, axis, rank int, shape []int) (int, error) {
	if axis < -rank || axis >= rank {
		return 0, usagef("%s: --axis %d out of range for shape %v", cmd, axis, shape)
	}
	if axis < 0 {
		axis += rank
	}
	return axis, nil
}

// noArgs is the usage error for positional arguments of a command that
// takes none.
func noArgs(cmd string, pos []string) error {
	if len(pos) > 0 {
		return usagef("%s: unexpected argument %s", cmd, shortQ(pos[0]))
	}
	return nil
}
