package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// version is the release version; builds from a VCS checkout append the
// revision (see versionString).
var version = "0.1.0-dev"

// command is one subcommand. run returns an error; usageError and
// failure choose the exit status (see exitCode).
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

// commands is the command table: each command lives in its own file and
// adds itself from init with register.
var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// helpOrder is the order of the command list in qgpu help, from a first
// look at the machine to the tools; a registered command missing here
// comes after them, a name here that is not registered is left out.
var helpOrder = []string{
	"devices", "sample", "quantize", "dequantize", "inspect", "calibrate",
	"run", "model", "bench", "conformance", "version", "help",
}

// commandNames returns the registered names in help order.
func commandNames() []string {
	var names []string
	for _, n := range helpOrder {
		if commands[n] != nil {
			names = append(names, n)
		}
	}
	var rest []string
	for n := range commands {
		if !slices.Contains(helpOrder, n) {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	return append(names, rest...)
}

func init() {
	register(&command{name: "version", summary: "print the version", run: cmdVersion})
	register(&command{name: "help", summary: "print this help, or a command's (qgpu help run)", run: cmdHelp})
}

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}

// Main runs the qgpu command line args (without the program name) and
// returns the exit status: 0 success, 2 bad input or usage, 1 failure to do
// valid work (see exitCode).
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printHelp(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "-version", "--version":
		name = "version"
	}
	c, ok := commands[name]
	if !ok {
		return report(stderr, usagef("unknown command %s%s (qgpu help lists the commands)", shortQ(name), didYouMean(name, commandNames())))
	}
	return report(stderr, c.run(args[1:], stdout, stderr))
}

func cmdVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "qgpu version", `
Prints the version of qgpu, with the VCS revision it was built from when
there is one (+dirty: with uncommitted changes).`, `
  qgpu version
  qgpu --version`, stdout)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if err := noArgs("version", pos); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "qgpu", versionString())
	return nil
}

func cmdHelp(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("help", "qgpu help [COMMAND]", `
Lists the commands, or prints a command's usage: its flags and examples
(the same as qgpu COMMAND -h).`, `
  qgpu help
  qgpu help calibrate`, stdout)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 1:
		return usagef("help: want one command at most, have %d arguments", len(pos))
	case len(pos) == 1:
		c, ok := commands[pos[0]]
		if !ok {
			return usagef("help: unknown command %s%s (qgpu help lists them)", shortQ(pos[0]), didYouMean(pos[0], commandNames()))
		}
		return c.run([]string{"-h"}, stdout, stderr)
	}
	printHelp(stdout)
	return nil
}

func printHelp(w io.Writer) {
	fmt.Fprintf(w, "qgpu %s: int8 quantization engine (CPU, Vulkan, OpenGL backends)\n\n", versionString())
	fmt.Fprintln(w, "Usage: qgpu <command> [flags] [arguments]")
	fmt.Fprintln(w, "\nCommands:")
	for _, n := range commandNames() {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nExamples:")
	for _, e := range []string{
		"qgpu devices",
		"qgpu sample --dist normal --shape 768x3072 --out w.npy",
		"qgpu quantize --in w.npy --dtype int8 --scheme symmetric --axis 0 --out w.qt",
		"qgpu calibrate --in act.npy --method all --plot report.png",
		"qgpu calibrate --in w.npy --method minmax --dtype int8 --scheme symmetric --axis 0 --json",
		"qgpu bench",
		"qgpu bench gemm --backend cpu --backend vulkan --plot gemm.png",
		"qgpu bench --benchfmt --runs 10 > new.txt && benchstat old.txt new.txt",
	} {
		fmt.Fprintln(w, "  "+e)
	}
	fmt.Fprintln(w, "\nRun 'qgpu <command> -h' for a command's flags and examples.")
	fmt.Fprintln(w, "Exit status: 0 success; 2 bad input or usage (flags, arguments, input files, values, output paths);")
	fmt.Fprintln(w, "1 failure to do valid work (backend unavailable or failing, out of memory, disk full).")
}

// versionString is version plus the VCS revision when the binary was built
// from a checkout.
func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			v += " (" + rev + dirty + ")"
		}
	}
	return v
}

// report prints err as one line "qgpu: ..." on stderr and returns the exit
// status it stands for.
func report(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	code := exitCode(err)
	if code == 0 {
		return 0
	}
	msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
	fmt.Fprintln(stderr, "qgpu: "+clip(escapeControls(msg), maxMessage))
	return code
}

// warnf prints a note that does not stop the command ("qgpu: note: ...")
// on stderr, escaped like an error.
func warnf(stderr io.Writer, format string, args ...any) {
	msg := strings.Join(strings.Fields(fmt.Sprintf(format, args...)), " ")
	fmt.Fprintln(stderr, "qgpu: note: "+clip(escapeControls(msg), maxMessage))
}

// maxMessage bounds an error line (a 60,000-value argument echoed whole
// made a 120 KB line).
const maxMessage = 600

// clip cuts the middle out of s when it is longer than max bytes, saying
// how much was cut.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	head, tail := max*2/3, max/4
	for head > 0 && !utf8.RuneStart(s[head]) {
		head--
	}
	t := len(s) - tail
	for t < len(s) && !utf8.RuneStart(s[t]) {
		t++
	}
	return fmt.Sprintf("%s ... [%d bytes cut] ... %s", s[:head], t-head, s[t:])
}

// escapeControls shows the control and other non-printing characters of
// s (and bytes that are not UTF-8) as Go escapes, so that an error naming
// a hostile tensor or file name cannot send escape sequences to the
// terminal.
func escapeControls(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				fmt.Fprintf(&b, "\\x%02x", s[i])
			} else {
				b.WriteRune(r)
			}
		case r == ' ' || unicode.IsPrint(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
	}
	return b.String()
}
