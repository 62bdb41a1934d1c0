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

const conformanceAbout = `
Runs the conformance suite (package tests) against each backend: every op
over odd shapes, element types and parameters, compared bit for bit with
the CPU backend's generic (scalar Go) reference kernels. Prints an op x
backend matrix (pass, FAIL, unsupported, unavailable) and every failure.
The exit status is 1 when any case fails (and, for a backend named in
QGPU_REQUIRE, when it is unavailable or an op is unsupported). --device
selects the device of the GPU backends (a Vulkan device index or name; the
OpenGL context path egl or glfw - glfw needs a binary built with -tags
glfw and a display). --isa checks the CPU backend's kernels of another
instruction set than the best one (avx2, generic).`

const conformanceExamples = `
  qgpu conformance
  qgpu conformance --backend vulkan --backend opengl
  qgpu conformance --run 'Gemm/.*u8' -v
  qgpu conformance --backend cpu --isa avx2
  QGPU_REQUIRE=vulkan qgpu conformance --backend vulkan --json
  xvfb-run -a qgpu conformance --backend opengl --device glfw`

// conformanceRun is one run of the suite: its options and per-backend
// columns.
type conformanceRun struct {
	backends []string
	match    func(op, name string) bool
	device   string
	asJSON   bool
	verbose  bool
	stdout   io.Writer
	prog     *progress
	cols     []conformanceColumn
	failed   bool
}

// conformanceColumn is one backend's outcome.
type conformanceColumn struct {
	backend     string
	unavailable string // reason, when it could not be opened
	report      tests.Report
}

func cmdConformance(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("conformance", "qgpu conformance [--backend B]... [--device D] [--isa I] [--run REGEXP] [--json] [-v]", conformanceAbout, conformanceExamples, stdout)
	var backends stringList
	fs.Var(&backends, "backend", "backend to check; repeatable: each is checked (default: every compiled-in backend)")
	run := fs.String("run", "", "only cases whose Op/Case name matches this regular expression")
	device := fs.String("device", "", "device of the GPU backends (Vulkan index or name; OpenGL egl or glfw)")
	asJSON := fs.Bool("json", false, "print one JSON object per case (or unavailable backend) per line")
	verbose := fs.Bool("v", false, "print every case as it finishes")
	isa := isaFlag(fs.FlagSet)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if err := noArgs("conformance", pos); err != nil {
		return err
	}
	restoreISA, err := applyISA("conformance", *isa)
	if err != nil {
		return err
	}
	defer restoreISA()
	c := &conformanceRun{backends: backends, device: *device, asJSON: *asJSON, verbose: *verbose, stdout: stdout}
	if err := c.check(*run); err != nil {
		return err
	}
	if !c.verbose && !c.asJSON {
		c.prog = newProgress(stderr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	for _, b := range c.backends {
		if err := c.runBackend(ctx, b); err != nil {
			return err
		}
	}
	if !c.asJSON {
		c.printMatrix()
	}
	if c.failed {
		return errors.New("conformance: some cases failed")
	}
	return nil
}

// check validates the backends and compiles --run.
func (c *conformanceRun) check(run string) error {
	if len(c.backends) == 0 {
		c.backends = engine.Backends()
	}
	for _, b := range c.backends {
		if !slices.Contains(engine.Backends(), b) {
			return usagef("conformance: unknown backend %q%s (compiled in: %s)", b, didYouMean(b, engine.Backends()), strings.Join(engine.Backends(), ", "))
		}
	}
	if run != "" {
		re, err := regexp.Compile(run)
		if err != nil {
			return usagef("conformance: --run: %v", err)
		}
		c.match = func(op, name string) bool { return re.MatchString(op + "/" + name) }
	}
	return nil
}

// runBackend runs the suite on backend b and records its column.
func (c *conformanceRun) runBackend(ctx context.Context, b string) error {
	enc := json.NewEncoder(c.stdout)
	n := 0
	opts := tests.Options{Match: c.match, Progress: func(r tests.Result) {
		n++
		switch {
		case c.asJSON:
			enc.Encode(conformanceLine{Backend: b, Op: r.Op, Case: r.Case, Status: statusName(r.Status), Detail: r.Detail, Tolerated: r.Tolerated, Seconds: r.Elapsed.Seconds()})
		case c.verbose:
			line := fmt.Sprintf("%s %s/%s: %s", b, r.Op, r.Case, r.Status)
			if r.Detail != "" {
				line += ": " + r.Detail
			}
			fmt.Fprintln(c.stdout, line)
		default:
			c.prog.update(false, "%s: %d cases, %s/%s", b, n, r.Op, r.Case)
		}
	}}
	cfg := engine.Config{Backend: b}
	if b != "cpu" {
		cfg.Device = c.device
	}
	rep, err := tests.Conformance(ctx, cfg, opts)
	c.prog.done()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !errors.Is(err, engine.ErrUnavailable) || b == "cpu" {
			return fmt.Errorf("conformance: %s: %w", b, err)
		}
		c.failed = c.failed || rep.Required
		c.cols = append(c.cols, conformanceColumn{backend: b, unavailable: err.Error(), report: rep})
		if c.asJSON {
			enc.Encode(conformanceLine{Backend: b, Status: "unavailable", Detail: err.Error()})
		}
		return nil
	}
	c.failed = c.failed || !rep.OK()
	c.cols = append(c.cols, conformanceColumn{backend: b, report: rep})
	return nil
}

// printMatrix prints the op x backend matrix, then per backend its device,
// case count and failures (or why it is unavailable).
func (c *conformanceRun) printMatrix() {
	// The op rows, in case-table order across all reports.
	var ops []string
	counts := map[string]map[string]tests.OpSummary{}
	for _, col := range c.cols {
		counts[col.backend] = map[string]tests.OpSummary{}
		for _, s := range col.report.Summary() {
			if !slices.Contains(ops, s.Op) {
				ops = append(ops, s.Op)
			}
			counts[col.backend][s.Op] = s
		}
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "op")
	for _, col := range c.cols {
		fmt.Fprintf(tw, "\t%s", col.backend)
	}
	fmt.Fprintln(tw)
	for _, op := range ops {
		fmt.Fprint(tw, op)
		for _, col := range c.cols {
			fmt.Fprintf(tw, "\t%s", cell(col.unavailable != "", counts[col.backend][op]))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	width := lineWidth(c.stdout)
	for _, col := range c.cols {
		if col.unavailable != "" {
			fmt.Fprintf(c.stdout, "\n%s: unavailable:\n%s", col.backend, wrapText("  ", col.unavailable, width))
			continue
		}
		d := col.report.Device
		fmt.Fprintf(c.stdout, "\n%s: %s (%s, %s): %d cases in %.1fs", col.backend, d.Name, d.Kind, d.Driver, len(col.report.Results), col.report.Elapsed.Seconds())
		if col.report.Required {
			fmt.Fprint(c.stdout, " (required: unsupported ops count as failures)")
		}
		fmt.Fprintln(c.stdout)
		for _, r := range col.report.Failures() {
			fmt.Fprintf(c.stdout, "  %s %s/%s: %s\n", r.Status, r.Op, r.Case, r.Detail)
		}
	}
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
