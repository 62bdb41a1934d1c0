package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/tests"
)

func init() {
	register(&command{name: "conformance", summary: "check backends bit for bit against the CPU reference", run: cmdConformance})
}

// conformanceLine is one JSON line of `qgpu conformance --json`: a case
// result, or (Case empty, Status "unavailable") a backend that could not
// be opened.
type conformanceLine struct {
	Backend   string  `json:"backend"`
	Op        string  `json:"op,omitempty"`
	Case      string  `json:"case,omitempty"`
	Status    string  `json:"status"` // pass, fail, unsupported, unavailable
	Detail    string  `json:"detail,omitempty"`
	Tolerated int     `json:"tolerated,omitempty"`
	Seconds   float64 `json:"seconds,omitempty"`
}

func statusName(s tests.Status) string { return strings.ToLower(s.String()) }

func cmdConformance(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("conformance", "qgpu conformance [--backend B]... [--device D] [--isa I] [--run REGEXP] [--json] [-v]", `
Runs the conformance suite (package tests) against each backend: every op
over odd shapes, element types and parameters, compared bit for bit with
the CPU backend's generic (scalar Go) reference kernels. Prints an op x
backend matrix (pass, FAIL, unsupported, unavailable) and every failure.
The exit status is 1 when any case fails (and, for a backend named in
QGPU_REQUIRE, when it is unavailable or an op is unsupported). --device
selects the device of the GPU backends (a Vulkan device index or name; the
OpenGL context path egl or glfw - glfw needs a binary built with -tags
glfw and a display). --isa checks the CPU backend's kernels of another
instruction set than the best one (avx2, generic).`, `
  qgpu conformance
  qgpu conformance --backend vulkan --backend opengl
  qgpu conformance --run 'Gemm/.*u8' -v
  qgpu conformance --backend cpu --isa avx2
  QGPU_REQUIRE=vulkan qgpu conformance --backend vulkan --json
  xvfb-run -a qgpu conformance --backend opengl --device glfw`, stdout)
	var backends stringList
	fs.Var(&backends, "backend", "backend to check (repeatable; default: every compiled-in backend)")
	run := fs.String("run", "", "only cases whose Op/Case name matches this regular expression")
	device := fs.String("device", "", "device of the GPU backends (Vulkan index or name; OpenGL egl or glfw)")
	asJSON := fs.Bool("json", false, "print one JSON object per case (or unavailable backend) per line")
	verbose := fs.Bool("v", false, "print every case as it finishes")
	isa := isaFlag(fs.FlagSet)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	restoreISA, err := applyISA("conformance", *isa)
	if err != nil {
		return err
	}
	defer restoreISA()
	if len(pos) > 0 {
		return usagef("conformance: unexpected argument %q", pos[0])
	}
	if len(backends) == 0 {
		backends = engine.Backends()
	}
	for _, b := range backends {
		if !slices.Contains(engine.Backends(), b) {
			return usagef("conformance: unknown backend %q (compiled in: %s)", b, strings.Join(engine.Backends(), ", "))
		}
	}
	var match func(op, name string) bool
	if *run != "" {
		re, err := regexp.Compile(*run)
		if err != nil {
			return usagef("conformance: --run: %v", err)
		}
		match = func(op, name string) bool { return re.MatchString(op + "/" + name) }
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	progress := isTerminal(stderr) && !*verbose && !*asJSON
	enc := json.NewEncoder(stdout)

	type column struct {
		backend     string
		unavailable string // reason, when it could not be opened
		report      tests.Report
	}
	var cols []column
	failed := false
	for _, b := range backends {
		n := 0
		opts := tests.Options{Match: match, Progress: func(r tests.Result) {
			n++
			switch {
			case *asJSON:
				enc.Encode(conformanceLine{Backend: b, Op: r.Op, Case: r.Case, Status: statusName(r.Status), Detail: r.Detail, Tolerated: r.Tolerated, Seconds: r.Elapsed.Seconds()})
			case *verbose:
				line := fmt.Sprintf("%s %s/%s: %s", b, r.Op, r.Case, r.Status)
				if r.Detail != "" {
					line += ": " + r.Detail
				}
				fmt.Fprintln(stdout, line)
			case progress:
				fmt.Fprintf(stderr, "\r\033[K%s: %d cases, %s/%s", b, n, r.Op, r.Case)
			}
		}}
		cfg := engine.Config{Backend: b}
		if b != "cpu" {
			cfg.Device = *device
		}
		rep, err := tests.Conformance(ctx, cfg, opts)
		if progress {
			fmt.Fprint(stderr, "\r\033[K")
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !errors.Is(err, engine.ErrUnavailable) || b == "cpu" {
				return fmt.Errorf("conformance: %s: %w", b, err)
			}
			if rep.Required {
				failed = true
			}
			cols = append(cols, column{backend: b, unavailable: err.Error(), report: rep})
			if *asJSON {
				enc.Encode(conformanceLine{Backend: b, Status: "unavailable", Detail: err.Error()})
			}
			continue
		}
		if !rep.OK() {
			failed = true
		}
		cols = append(cols, column{backend: b, report: rep})
	}
	if !*asJSON {
		// The op rows, in case-table order across all reports.
		var ops []string
		counts := map[string]map[string]tests.OpSummary{}
		for _, c := range cols {
			counts[c.backend] = map[string]tests.OpSummary{}
			for _, s := range c.report.Summary() {
				if !slices.Contains(ops, s.Op) {
					ops = append(ops, s.Op)
				}
				counts[c.backend][s.Op] = s
			}
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprint(tw, "op")
		for _, c := range cols {
			fmt.Fprintf(tw, "\t%s", c.backend)
		}
		fmt.Fprintln(tw)
		for _, op := range ops {
			fmt.Fprint(tw, op)
			for _, c := range cols {
				fmt.Fprintf(tw, "\t%s", cell(c.unavailable != "", counts[c.backend][op]))
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
		for _, c := range cols {
			if c.unavailable != "" {
				fmt.Fprintf(stdout, "\n%s: unavailable: %s\n", c.backend, c.unavailable)
				continue
			}
			d := c.report.Device
			fmt.Fprintf(stdout, "\n%s: %s (%s, %s): %d cases in %.1fs", c.backend, d.Name, d.Kind, d.Driver, len(c.report.Results), c.report.Elapsed.Seconds())
			if c.report.Required {
				fmt.Fprint(stdout, " (required: unsupported ops count as failures)")
			}
			fmt.Fprintln(stdout)
			for _, r := range c.report.Failures() {
				fmt.Fprintf(stdout, "  %s %s/%s: %s\n", r.Status, r.Op, r.Case, r.Detail)
			}
		}
	}
	if failed {
		return errors.New("conformance: some cases failed")
	}
	return nil
}

// cell is one entry of the op x backend matrix.
func cell(unavailable bool, s tests.OpSummary) string {
	total := s.Pass + s.Fail + s.Unsupported
	switch {
	case unavailable:
		return "unavailable"
	case total == 0:
		return "-"
	case s.Fail > 0:
		return fmt.Sprintf("FAIL %d/%d", s.Fail, total)
	case s.Unsupported == total:
		return "unsupported"
	case s.Unsupported > 0:
		return fmt.Sprintf("pass %d, unsupported %d", s.Pass, s.Unsupported)
	}
	return fmt.Sprintf("pass %d", s.Pass)
}
