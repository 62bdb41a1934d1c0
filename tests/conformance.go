package tests

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	_ "github.com/qgpu/qgpu/backends/cpu" // the reference backend
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// GuardBytes is the guard zone the suite puts around every tensor of the
// target (and reference) engine.
const GuardBytes = 256

// Reference returns the configuration of the reference engine: the CPU
// backend with its generic (scalar Go) kernels, with guard bytes.
func Reference() engine.Config {
	return engine.Config{Backend: "cpu", Kernels: "generic", GuardBytes: GuardBytes}
}

// RequireEnv is the environment variable naming the backends that must be
// available and support every op (comma-separated).
const RequireEnv = "QGPU_REQUIRE"

// Required reports whether the environment variable QGPU_REQUIRE names the
// backend.
func Required(backend string) bool {
	for _, n := range strings.Split(os.Getenv(RequireEnv), ",") {
		if n = strings.TrimSpace(n); n != "" && n == backend {
			return true
		}
	}
	return false
}

// CapDenormals is the DeviceInfo.Caps key through which a backend reports
// how its device treats float32 denormals; the value CapDenormalsFlush
// ("flush") means denormal inputs, intermediates or results may become ±0.
const (
	CapDenormals      = "denormals"
	CapDenormalsFlush = "flush"
)

// FlushesDenormals reports whether a device flushes float32 denormals
// (Caps[CapDenormals] == CapDenormalsFlush).
func FlushesDenormals(d engine.DeviceInfo) bool {
	return d.Caps[CapDenormals] == CapDenormalsFlush
}

// Status is the outcome of one case.
type Status uint8

// Outcomes.
const (
	Pass        Status = iota
	Fail               // wrong output, error, guard or input overwritten
	Unsupported        // the target does not implement the op (ErrUnsupported)
)

func (s Status) String() string {
	switch s {
	case Pass:
		return "pass"
	case Fail:
		return "FAIL"
	case Unsupported:
		return "unsupported"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// Result is the outcome of one case on the target.
type Result struct {
	Op     string // op name (backend.OpKind.String(), "DynamicQuantizeLinear" or "Chain")
	Case   string
	Status Status
	// Detail says why a case failed (the first mismatch, an error) or was
	// unsupported; empty for a plain pass.
	Detail string
	// Tolerated counts output elements accepted only through the case's
	// declared tolerance.
	Tolerated int
	Elapsed   time.Duration
}

// Report is the outcome of a conformance run.
type Report struct {
	Backend string            // the target backend's name
	Device  engine.DeviceInfo // the target device
	// Required is true when QGPU_REQUIRE named the backend (or
	// Options.Require was set): unsupported cases then count as failures.
	Required bool
	Results  []Result
	Elapsed  time.Duration
}

// OpSummary counts the outcomes of one op's cases.
type OpSummary struct {
	Op                      string
	Pass, Fail, Unsupported int
}

// Summary returns per-op counts in case-table order.
func (r *Report) Summary() []OpSummary {
	var out []OpSummary
	idx := map[string]int{}
	for _, res := range r.Results {
		i, ok := idx[res.Op]
		if !ok {
			i = len(out)
			idx[res.Op] = i
			out = append(out, OpSummary{Op: res.Op})
		}
		switch res.Status {
		case Pass:
			out[i].Pass++
		case Fail:
			out[i].Fail++
		case Unsupported:
			out[i].Unsupported++
		}
	}
	return out
}

// Failures returns the failed results (unsupported ones too when the
// backend is required).
func (r *Report) Failures() []Result {
	var out []Result
	for _, res := range r.Results {
		if res.Status == Fail || (r.Required && res.Status == Unsupported) {
			out = append(out, res)
		}
	}
	return out
}

// OK reports whether the run has no failures.
func (r *Report) OK() bool { return len(r.Failures()) == 0 }

// Options configure Conformance.
type Options struct {
	// Match selects cases (nil: all).
	Match func(op, name string) bool
	// Cases replaces the suite's case table (nil: Cases()).
	Cases []Case
	// Reference replaces the reference configuration (zero: Reference()).
	Reference engine.Config
	// Require makes unsupported ops failures, as QGPU_REQUIRE does.
	Require bool
	// Progress, if set, is called after each case.
	Progress func(Result)
}

// Conformance runs the suite against the target configuration and returns
// per-case results. It returns an error (and a report without results)
// when the reference or the target engine cannot be opened - wrapping
// engine.ErrUnavailable when the target backend is unavailable - or when ctx
// is cancelled.
func Conformance(ctx context.Context, target engine.Config, opts Options) (Report, error) {
	start := time.Now()
	r, err := newRunner(target, opts)
	if err != nil {
		return Report{Backend: target.Backend, Required: opts.Require || Required(target.Backend)}, err
	}
	defer r.close()
	rep := Report{Backend: r.tgt.Backend().Name(), Device: r.tgt.Backend().Device(), Required: r.required}
	cases := opts.Cases
	if cases == nil {
		cases = Cases()
	}
	for _, c := range cases {
		if opts.Match != nil && !opts.Match(c.Op, c.Name) {
			continue
		}
		if err := ctx.Err(); err != nil {
			rep.Elapsed = time.Since(start)
			return rep, err
		}
		res := r.run(ctx, c)
		rep.Results = append(rep.Results, res)
		if opts.Progress != nil {
			opts.Progress(res)
		}
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// Tester is the part of *testing.T that Run uses: subtests, failures,
// skips and logs. Run takes it as a type parameter, T = *testing.T in a
// test, so that this package does not import testing and the qgpu binary,
// which runs the suite through Conformance, does not link it.
type Tester[T any] interface {
	Helper()
	Context() context.Context
	Run(name string, f func(T)) bool
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Logf(format string, args ...any)
}

// Run runs the suite against the target as subtests named Op/Case, from a
// test of the target's package:
//
//	func TestConformance(t *testing.T) {
//		tests.Run(t, engine.Config{Backend: "vulkan"})
//	}
//
// An unavailable backend skips the test with the reason, unsupported ops
// skip their subtests; both fail when QGPU_REQUIRE names the backend.
func Run[T Tester[T]](t T, target engine.Config) {
	t.Helper()
	RunOptions(t, target, Options{})
}

// RunOptions is Run with options (Match, Cases, Reference, Require; Progress
// is ignored).
func RunOptions[T Tester[T]](t T, target engine.Config, opts Options) {
	t.Helper()
	r, err := newRunner(target, opts)
	if err != nil {
		if errors.Is(err, engine.ErrUnavailable) && !(opts.Require || Required(target.Backend)) {
			t.Skipf("backend %q unavailable (set %s=%s to make this a failure): %v", target.Backend, RequireEnv, target.Backend, err)
		}
		t.Fatalf("conformance: %v", err)
	}
	defer r.close()
	t.Logf("conformance of %s (%s, %s) against the reference", r.tgt.Backend().Name(), r.tgt.Backend().Device().Name, r.tgt.Backend().Device().Driver)
	cases := opts.Cases
	if cases == nil {
		cases = Cases()
	}
	byOp := map[string][]Case{}
	var ops []string
	for _, c := range cases {
		if opts.Match != nil && !opts.Match(c.Op, c.Name) {
			continue
		}
		if _, ok := byOp[c.Op]; !ok {
			ops = append(ops, c.Op)
		}
		byOp[c.Op] = append(byOp[c.Op], c)
	}
	for _, op := range ops {
		t.Run(op, func(t T) {
			for _, c := range byOp[op] {
				t.Run(c.Name, func(t T) {
					res := r.run(t.Context(), c)
					switch {
					case res.Status == Fail:
						t.Fatalf("%s", res.Detail)
					case res.Status == Unsupported && r.required:
						t.Fatalf("unsupported on required backend: %s", res.Detail)
					case res.Status == Unsupported:
						t.Skipf("unsupported: %s", res.Detail)
					case res.Tolerated > 0:
						t.Logf("%d elements accepted through the declared denormal-flush tolerance", res.Tolerated)
					}
				})
			}
		})
	}
}

// runner holds the two engines of a run.
type runner struct {
	ref, tgt *engine.Engine
	flush    bool
	required bool
}

func newRunner(target engine.Config, opts Options) (*runner, error) {
	refCfg := opts.Reference
	if refCfg.Backend == "" {
		refCfg = Reference()
	}
	ref, err := engine.New(refCfg)
	if err != nil {
		return nil, fmt.Errorf("conformance: reference engine: %w", err)
	}
	if target.GuardBytes < GuardBytes {
		target.GuardBytes = GuardBytes
	}
	tgt, err := engine.New(target)
	if err != nil {
		ref.Close()
		return nil, fmt.Errorf("conformance: target engine: %w", err)
	}
	return &runner{
		ref: ref, tgt: tgt,
		flush:    FlushesDenormals(tgt.Backend().Device()),
		required: opts.Require || Required(target.Backend) || Required(tgt.Backend().Name()),
	}, nil
}

func (r *runner) close() {
	r.tgt.Close()
	r.ref.Close()
}

// caseRand returns the case's deterministic generator, seeded from its name.
func caseRand(op, name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(op + "/" + name))
	s := h.Sum64()
	return rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15))
}

// run executes one case on both engines and compares.
func (r *runner) run(ctx context.Context, c Case) (res Result) {
	start := time.Now()
	res = Result{Op: c.Op, Case: c.Name}
	defer func() { res.Elapsed = time.Since(start) }()
	fail := func(format string, args ...any) Result {
		res.Status = Fail
		res.Detail = fmt.Sprintf(format, args...)
		return res
	}
	inputs, err := genInputs(c)
	if err != nil {
		return fail("inputs: %v", err)
	}
	want, err := execute(ctx, r.ref, c, inputs)
	if err != nil {
		return fail("reference: %v", err)
	}
	got, err := execute(ctx, r.tgt, c, inputs)
	if errors.Is(err, engine.ErrUnsupported) {
		res.Status = Unsupported
		res.Detail = err.Error()
		return res
	}
	if err != nil {
		return fail("%v", err)
	}
	if len(got) != len(want) {
		return fail("%d outputs, reference has %d", len(got), len(want))
	}
	tol := c.FlushDenormTolerance && r.flush
	for i := range want {
		n, detail := compare(want[i], got[i], tol)
		if detail != "" {
			return fail("output %d: %s", i, detail)
		}
		res.Tolerated += n
	}
	if c.OutputsEqual {
		for i := 1; i < len(got); i++ {
			if _, detail := compare(got[0], got[i], false); detail != "" {
				return fail("output %d differs from output 0 (the same result computed another way): %s", i, detail)
			}
		}
	}
	res.Status = Pass
	return res
}

func genInputs(c Case) (in []*qtensor.Tensor, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("suite generator panicked: %v", v)
		}
	}()
	if c.Inputs == nil {
		return nil, nil
	}
	return c.Inputs(caseRand(c.Op, c.Name)), nil
}

// execute uploads the inputs to e, runs the case and returns its outputs,
// after checking that the inputs were not modified and the guards hold.
func execute(ctx context.Context, e *engine.Engine, c Case, inputs []*qtensor.Tensor) (outs []*qtensor.Tensor, err error) {
	var live []*engine.Tensor
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v\n%s", v, debug.Stack())
		}
		for _, t := range live {
			t.Release()
		}
	}()
	ins := make([]*engine.Tensor, len(inputs))
	for i, h := range inputs {
		t, err := e.Upload(h)
		if err != nil {
			return nil, fmt.Errorf("upload input %d: %w", i, err)
		}
		ins[i] = t
		live = append(live, t)
	}
	var ys []*engine.Tensor
	if c.Exec != nil {
		ys, err = c.Exec(ctx, e, ins)
		live = append(live, ys...)
		if err != nil {
			return nil, err
		}
	} else {
		b := e.NewBatch()
		defer b.Release()
		ys, err = c.Build(b, ins)
		if err != nil {
			return nil, fmt.Errorf("build: %w", err)
		}
		if err := e.Supports(b); err != nil {
			return nil, err
		}
		if err := b.Run(ctx); err != nil {
			return nil, fmt.Errorf("run: %w", err)
		}
	}
	for i, y := range ys {
		h, err := e.Download(y)
		if err != nil {
			return nil, fmt.Errorf("download output %d: %w", i, err)
		}
		outs = append(outs, h)
	}
	for i, t := range ins {
		h, err := e.Download(t)
		if err != nil {
			return nil, fmt.Errorf("download input %d: %w", i, err)
		}
		if !slices.Equal(h.Data, inputs[i].Data) {
			_, d := compare(inputs[i], h, false)
			return nil, fmt.Errorf("input %d was modified: %s", i, d)
		}
	}
	if err := e.CheckGuards(); err != nil {
		return nil, err
	}
	return outs, nil
}

// compare returns "" when got equals want bit for bit (or within the
// denormal-flush tolerance when tol), with the number of elements accepted
// through the tolerance; otherwise the first mismatch.
func compare(want, got *qtensor.Tensor, tol bool) (int, string) {
	if want.DType != got.DType || !slices.Equal(want.Shape, got.Shape) {
		return 0, fmt.Sprintf("got %v%v, want %v%v", got.DType, got.Shape, want.DType, want.Shape)
	}
	if !paramsEqual(want.Params, got.Params) {
		return 0, fmt.Sprintf("params %+v, want %+v", got.Params, want.Params)
	}
	if len(want.Data) != len(got.Data) {
		return 0, fmt.Sprintf("%d data bytes, want %d", len(got.Data), len(want.Data))
	}
	if slices.Equal(want.Data, got.Data) {
		return 0, ""
	}
	n := want.Len()
	bad, tolerated, first := 0, 0, -1
	for i := range n {
		if elemEqual(want, got, i) {
			continue
		}
		if tol && want.DType == qtensor.Float32 && flushOK(f32At(want, i), f32At(got, i)) {
			tolerated++
			continue
		}
		if first < 0 {
			first = i
		}
		bad++
	}
	if bad == 0 {
		if want.DType == qtensor.Uint4 || want.DType == qtensor.Int4 {
			return 0, fmt.Sprintf("the unused high nibble of the last byte differs: got 0x%02x, want 0x%02x", got.Data[len(got.Data)-1], want.Data[len(want.Data)-1])
		}
		return tolerated, ""
	}
	return tolerated, fmt.Sprintf("%v%v: element %v (flat %d): got %s, want %s; %d of %d elements differ",
		want.DType, want.Shape, multiIndex(want.Shape, first), first, elemString(got, first), elemString(want, first), bad, n)
}

// flushOK is the declared tolerance of docs/semantics.md section 6: a float output whose
// exact value is below 2^-126 in magnitude may be ±0 on a device that
// flushes denormals.
func flushOK(want, got float32) bool {
	return math.Abs(float64(want)) < 0x1p-126 && got == 0
}

func paramsEqual(p, q qtensor.Params) bool {
	if p.Granularity != q.Granularity || p.Axis != q.Axis || p.BlockSize != q.BlockSize ||
		!slices.Equal(p.ZeroPoints, q.ZeroPoints) || len(p.Scales) != len(q.Scales) {
		return false
	}
	for i := range p.Scales {
		if math.Float32bits(p.Scales[i]) != math.Float32bits(q.Scales[i]) {
			return false
		}
	}
	return true
}

func f32At(t *qtensor.Tensor, i int) float32 {
	return math.Float32frombits(uint32(t.Data[4*i]) | uint32(t.Data[4*i+1])<<8 | uint32(t.Data[4*i+2])<<16 | uint32(t.Data[4*i+3])<<24)
}

func elemEqual(a, b *qtensor.Tensor, i int) bool {
	if a.DType == qtensor.Float32 {
		return math.Float32bits(f32At(a, i)) == math.Float32bits(f32At(b, i))
	}
	return a.At(i) == b.At(i)
}

func elemString(t *qtensor.Tensor, i int) string {
	if t.DType == qtensor.Float32 {
		v := f32At(t, i)
		return fmt.Sprintf("%g (0x%08x)", v, math.Float32bits(v))
	}
	return fmt.Sprint(t.At(i))
}

func multiIndex(shape []int, i int) []int {
	idx := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			idx[d] = i % shape[d]
			i /= shape[d]
		}
	}
	return idx
}

// Matrix formats the reports of several backends as a markdown op x
// backend table; a cell counts the op's passed, failed and unsupported
// cases on that backend ("-" when the backend ran none of them).
func Matrix(reps ...Report) string {
	var ops []string
	seen := map[string]bool{}
	cells := make([]map[string]OpSummary, len(reps))
	for i := range reps {
		cells[i] = map[string]OpSummary{}
		for _, s := range reps[i].Summary() {
			cells[i][s.Op] = s
			if !seen[s.Op] {
				seen[s.Op] = true
				ops = append(ops, s.Op)
			}
		}
	}
	var b strings.Builder
	b.WriteString("| op |")
	for _, r := range reps {
		fmt.Fprintf(&b, " %s |", r.Backend)
	}
	b.WriteString("\n| --- |")
	for range reps {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
	for _, op := range ops {
		fmt.Fprintf(&b, "| %s |", op)
		for i := range reps {
			s, ok := cells[i][op]
			if !ok {
				b.WriteString(" - |")
				continue
			}
			var parts []string
			if s.Pass > 0 {
				parts = append(parts, fmt.Sprintf("%d pass", s.Pass))
			}
			if s.Fail > 0 {
				parts = append(parts, fmt.Sprintf("%d FAIL", s.Fail))
			}
			if s.Unsupported > 0 {
				parts = append(parts, fmt.Sprintf("%d unsupported", s.Unsupported))
			}
			fmt.Fprintf(&b, " %s |", strings.Join(parts, ", "))
		}
		b.WriteString("\n")
	}
	return b.String()
}
