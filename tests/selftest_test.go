package tests

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/qgpu/qgpu/backends/cpu"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
)

// Self-tests: backends with planted bugs, registered under test-only names,
// must fail exactly the cases they break.

// buggy wraps the CPU backend and breaks the output of some ops after they
// ran.
type buggy struct {
	*cpu.Backend
	name   string
	caps   map[string]string
	unsup  backend.OpKind
	mangle func(op backend.Op) error
}

func (b *buggy) Name() string { return b.name }

func (b *buggy) Device() engine.DeviceInfo {
	d := b.Backend.Device()
	d.Backend = b.name
	for k, v := range b.caps {
		d.Caps[k] = v
	}
	return d
}

func (b *buggy) Supports(op backend.Op) error {
	if op.Kind() == b.unsup {
		return fmt.Errorf("%s: %v: %w", b.name, op.Kind(), engine.ErrUnsupported)
	}
	return b.Backend.Supports(op)
}

func (b *buggy) Run(ctx context.Context, ops []backend.Op) error {
	for _, op := range ops {
		if err := b.Backend.Run(ctx, []backend.Op{op}); err != nil {
			return err
		}
		if b.mangle != nil {
			if err := b.mangle(op); err != nil {
				return err
			}
		}
	}
	return nil
}

func register(name string, f func(b *buggy)) {
	backend.Register(name, -100, func(o engine.Options) (backend.Backend, error) {
		c, err := cpu.New(o)
		if err != nil {
			return nil, err
		}
		b := &buggy{Backend: c, name: name}
		f(b)
		return b, nil
	})
}

// flipByte xors one bit into byte off of t's buffer.
func flipByte(t *backend.Tensor, off int) error {
	var v [1]byte
	if err := t.Buffer().Read(off, v[:]); err != nil {
		return err
	}
	v[0] ^= 1
	return t.Buffer().Write(off, v[:])
}

// poke writes byte v at byte off of t's buffer.
func poke(t *backend.Tensor, off int, v byte) error {
	return t.Buffer().Write(off, []byte{v})
}

func init() {
	// (a) an off-by-one in one element of every Gemm output.
	register("test-offbyone", func(b *buggy) {
		b.mangle = func(op backend.Op) error {
			if g, ok := op.(*backend.Gemm); ok {
				return flipByte(g.Y, g.Y.Offset()+g.Y.Bytes()/2)
			}
			return nil
		}
	})
	// (b) a write one byte past the data of every Quantize output and one
	// byte before the data of every Dequantize output.
	register("test-oob", func(b *buggy) {
		b.mangle = func(op backend.Op) error {
			switch op := op.(type) {
			case *backend.Quantize:
				return poke(op.Y, op.Y.Offset()+op.Y.Bytes(), 0x5A)
			case *backend.Dequantize:
				return poke(op.Y, op.Y.Offset()-1, 0x5A)
			}
			return nil
		}
	})
	// A kernel that writes its input (ReLU in place on X).
	register("test-writes-input", func(b *buggy) {
		b.mangle = func(op backend.Op) error {
			if r, ok := op.(*backend.ReLU); ok {
				return flipByte(r.X, r.X.Offset())
			}
			return nil
		}
	})
	// A backend without Conv.
	register("test-unsupported", func(b *buggy) { b.unsup = backend.OpConv })
	// A device that flushes denormal float outputs to zero, reported or not.
	flush := func(op backend.Op) error {
		for _, y := range op.Outputs() {
			if y.DType() != qtensor.Float32 {
				continue
			}
			buf := make([]byte, y.Bytes())
			if err := y.Buffer().Read(y.Offset(), buf); err != nil {
				return err
			}
			for i := 0; i < len(buf); i += 4 {
				bits := uint32(buf[i]) | uint32(buf[i+1])<<8 | uint32(buf[i+2])<<16 | uint32(buf[i+3])<<24
				if bits&0x7F800000 == 0 { // zero or denormal
					bits &= 0x80000000
				}
				buf[i], buf[i+1], buf[i+2], buf[i+3] = byte(bits), byte(bits>>8), byte(bits>>16), byte(bits>>24)
			}
			if err := y.Buffer().Write(y.Offset(), buf); err != nil {
				return err
			}
		}
		return nil
	}
	register("test-flush", func(b *buggy) {
		b.caps = map[string]string{CapDenormals: CapDenormalsFlush}
		b.mangle = flush
	})
	register("test-flush-unreported", func(b *buggy) { b.mangle = flush })
	// A backend that claims a non-flushing device but changes a
	// normal float result: the tolerance must not hide it.
	register("test-flush-wrong", func(b *buggy) {
		b.caps = map[string]string{CapDenormals: CapDenormalsFlush}
		b.mangle = func(op backend.Op) error {
			if g, ok := op.(*backend.Gemm); ok && g.Y.DType() == qtensor.Float32 {
				return flipByte(g.Y, g.Y.Offset()+3) // sign/exponent byte of element 0
			}
			return nil
		}
	})
}

// conformance runs the suite against a test backend; the CPU target
// passes the whole suite, so every failure is a planted one.
func conformance(t *testing.T, name string) Report {
	t.Helper()
	rep, err := Conformance(context.Background(), engine.Config{Backend: name}, Options{})
	if err != nil {
		t.Fatalf("Conformance(%s): %v", name, err)
	}
	if len(rep.Results) != len(Cases()) {
		t.Fatalf("%d results, want %d", len(rep.Results), len(Cases()))
	}
	return rep
}

// expect asserts that exactly the cases selected by broken fail, each with
// a detail containing want, and every other case passes.
func expect(t *testing.T, rep Report, broken func(r Result) bool, want string) {
	t.Helper()
	nBroken := 0
	for _, r := range rep.Results {
		switch {
		case broken(r):
			nBroken++
			if r.Status != Fail {
				t.Errorf("%s/%s: %v, want FAIL", r.Op, r.Case, r.Status)
			} else if !strings.Contains(r.Detail, want) {
				t.Errorf("%s/%s: detail %q does not mention %q", r.Op, r.Case, r.Detail, want)
			}
		case r.Status != Pass:
			t.Errorf("%s/%s: %v (%s), want pass", r.Op, r.Case, r.Status, r.Detail)
		}
	}
	if nBroken == 0 {
		t.Fatalf("no case exercises the planted bug")
	}
	t.Logf("%d cases caught the planted bug, %d passed", nBroken, len(rep.Results)-nBroken)
}

func TestCatchesOffByOne(t *testing.T) {
	rep := conformance(t, "test-offbyone")
	// Every Gemm case, and the chain that contains a Gemm.
	expect(t, rep, func(r Result) bool {
		return r.Op == "Gemm" || (r.Op == "Chain" && strings.Contains(r.Case, "gemm"))
	}, "differ")
	if rep.OK() {
		t.Fatal("report OK despite failures")
	}
}

func TestCatchesOutOfBoundsWrite(t *testing.T) {
	rep := conformance(t, "test-oob")
	expect(t, rep, func(r Result) bool {
		return r.Op == "Quantize" || r.Op == "Dequantize" || r.Op == "DynamicQuantizeLinear" ||
			(r.Op == "Chain" && strings.Contains(r.Case, "quantize"))
	}, "out-of-bounds")
}

func TestCatchesInputWrite(t *testing.T) {
	rep := conformance(t, "test-writes-input")
	// The ReLU cases report the modified input; in the chain the input of
	// ReLU is an earlier op's output, which then differs.
	for _, r := range rep.Results {
		if r.Op == "ReLU" && !strings.Contains(r.Detail, "input 0 was modified") {
			t.Errorf("%s/%s: detail %q", r.Op, r.Case, r.Detail)
		}
	}
	expect(t, rep, func(r Result) bool {
		return r.Op == "ReLU" || r.Case == "quantize_gemm_requantize_relu_minmax"
	}, "")
}

func TestUnsupportedIsNotFailure(t *testing.T) {
	rep := conformance(t, "test-unsupported")
	n := 0
	for _, r := range rep.Results {
		want := Pass
		if r.Op == "Conv" || r.Case == "conv_avgpool_add" {
			want = Unsupported
			n++
		}
		if r.Status != want {
			t.Errorf("%s/%s: %v (%s), want %v", r.Op, r.Case, r.Status, r.Detail, want)
		}
	}
	if n == 0 || !rep.OK() || rep.Required {
		t.Fatalf("%d unsupported, OK %v, Required %v", n, rep.OK(), rep.Required)
	}
	for _, s := range rep.Summary() {
		if s.Op == "Conv" && (s.Unsupported == 0 || s.Pass != 0 || s.Fail != 0) {
			t.Errorf("Conv summary %+v", s)
		}
	}

	// QGPU_REQUIRE naming the backend turns them into failures.
	t.Setenv(RequireEnv, "vulkan, test-unsupported")
	rep = conformance(t, "test-unsupported")
	if !rep.Required || rep.OK() || len(rep.Failures()) != n {
		t.Fatalf("required: Required %v, OK %v, %d failures, want %d", rep.Required, rep.OK(), len(rep.Failures()), n)
	}
}

func TestUnavailable(t *testing.T) {
	_, err := Conformance(context.Background(), engine.Config{Backend: "no-such-backend"}, Options{})
	if !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	t.Setenv(RequireEnv, "no-such-backend")
	if !Required("no-such-backend") || Required("no-such") || Required("") {
		t.Fatal("Required does not parse QGPU_REQUIRE")
	}
}

// tolerant reports the cases that declare the denormal-flush tolerance.
func tolerant(r Result) bool {
	for _, c := range Cases() {
		if c.Op == r.Op && c.Name == r.Case {
			return c.FlushDenormTolerance
		}
	}
	return false
}

func TestFlushTolerance(t *testing.T) {
	// A flushing device that says so passes everything, and the declared
	// cases report tolerated elements.
	rep := conformance(t, "test-flush")
	tol := 0
	used := map[string]bool{}
	for _, r := range rep.Results {
		if r.Status != Pass {
			t.Errorf("%s/%s: %v (%s)", r.Op, r.Case, r.Status, r.Detail)
		}
		if r.Tolerated > 0 && !tolerant(r) {
			t.Errorf("%s/%s: tolerance used by a case that does not declare it", r.Op, r.Case)
		}
		tol += r.Tolerated
		if r.Tolerated > 0 {
			used[r.Op+"/"+r.Case] = true
		}
	}
	if tol == 0 {
		t.Fatal("no element needed the tolerance: the tolerant cases do not produce denormals")
	}
	// Unreported flushing fails the cases that needed the tolerance.
	rep = conformance(t, "test-flush-unreported")
	for _, r := range rep.Results {
		if used[r.Op+"/"+r.Case] && r.Status != Fail {
			t.Errorf("%s/%s: %v, want FAIL without a reported flush", r.Op, r.Case, r.Status)
		}
	}
	// The tolerance never hides a wrong normal value.
	rep = conformance(t, "test-flush-wrong")
	for _, r := range rep.Results {
		if r.Op == "Gemm" && strings.Contains(r.Case, "f32") && r.Status != Fail {
			t.Errorf("%s/%s: %v, want FAIL", r.Op, r.Case, r.Status)
		}
	}
}

func TestFlushOK(t *testing.T) {
	for _, c := range []struct {
		want, got float32
		ok        bool
	}{
		{0x1p-127, 0, true},
		{-0x1p-149, negZero, true},
		{-0x1p-149, 0, true},
		{0x1p-127, 0x1p-127 * 2, false},
		{0x1p-126, 0, false}, // the smallest normal is not tolerated
		{1, 0, false},
		{0, negZero, true},
	} {
		if got := flushOK(c.want, c.got); got != c.ok {
			t.Errorf("flushOK(%g, %g) = %v, want %v", c.want, c.got, got, c.ok)
		}
	}
}

// TestCompare checks the first-mismatch report of compare.
func TestCompare(t *testing.T) {
	a := must(qtensor.FromInt32([]int{2, 3}, []int32{1, 2, 3, 4, 5, 6}))
	b := a.Clone()
	b.Set(4, 7)
	b.Set(5, 9)
	_, d := compare(a, b, false)
	for _, w := range []string{"element [1 1]", "flat 4", "got 7, want 5", "2 of 6"} {
		if !strings.Contains(d, w) {
			t.Errorf("detail %q lacks %q", d, w)
		}
	}
	if _, d := compare(a, a.Clone(), false); d != "" {
		t.Errorf("equal tensors: %q", d)
	}
	// an odd int4 tensor whose padding nibble differs
	p := qtensor.TensorParams(1, 0)
	x := must(qtensor.New(qtensor.Int4, []int{3}, p))
	y := x.Clone()
	y.Data[1] |= 0x70
	if _, d := compare(x, y, false); !strings.Contains(d, "nibble") {
		t.Errorf("padding nibble: %q", d)
	}
	// NaN payloads and signed zeros are compared as bits
	f := must(qtensor.FromFloat32([]int{2}, []float32{0, float32(math.NaN())}))
	g := must(qtensor.FromFloat32([]int{2}, []float32{negZero, float32(math.NaN())}))
	if _, d := compare(f, g, false); !strings.Contains(d, "element [0]") {
		t.Errorf("-0 vs +0: %q", d)
	}
}

// TestCasesNontrivial guards the suite itself: every case's reference
// output with 8 or more elements takes more than one value (a case whose
// output is constant tests little), except where constant is the point.
func TestCasesNontrivial(t *testing.T) {
	ref, err := engine.New(Reference())
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	constantOK := map[string]bool{
		"DynamicQuantizeLinear/all_zero": true, "DynamicQuantizeLinear/all_negzero": true,
		"DynamicQuantizeLinear/constant": true, "DynamicQuantizeLinear/denormals": true,
		"Histogram/onebin_1": true, "ByteWeightDequant/empty_1": true,
		"ByteWeightDequant/empty_7": true, "ByteWeightDequant/empty_16": true,
		"ByteWeightDequant/empty_17": true, "ByteWeightDequant/empty_64": true, "ByteWeightDequant/empty_257": true,
		"Conv/pads_exceed_kernel": true, // prefix: windows in the padding give the bias only
	}
	for _, c := range Cases() {
		key := c.Op + "/" + c.Name
		if constantOK[key] || (c.Op == "Conv" && strings.HasPrefix(c.Name, "pads_exceed_kernel")) ||
			// ReLU with the zero point at the top of the range is constant by definition.
			(c.Op == "ReLU" && (strings.HasSuffix(c.Name, "_zp255") || strings.HasSuffix(c.Name, "_zp127"))) ||
			// M = 2^-32: |acc * M| <= 0.5, so every output is the zero point;
			// the case checks the fixed-point shift-63 path and the float tie.
			(c.Op == "Requantize" && strings.Contains(c.Name, "_m2e-32_")) {
			continue
		}
		in, err := genInputs(c)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		outs, err := execute(context.Background(), ref, c, in)
		if err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		for i, o := range outs {
			n := o.Len()
			if n < 8 {
				continue
			}
			distinct := map[string]bool{}
			size := len(o.Data) / max(n, 1)
			if size == 0 {
				size = 1
			}
			for j := 0; j+size <= len(o.Data); j += size {
				distinct[string(o.Data[j:j+size])] = true
			}
			if len(distinct) < 2 {
				t.Errorf("%s: output %d (%v%v) is constant", key, i, o.DType, o.Shape)
			}
		}
	}
}

func TestMatrix(t *testing.T) {
	good := Report{Backend: "a", Results: []Result{{Op: "Gemm", Status: Pass}, {Op: "Gemm", Status: Pass}, {Op: "Conv", Status: Unsupported}}}
	bad := Report{Backend: "b", Results: []Result{{Op: "Gemm", Status: Fail}, {Op: "Gemm", Status: Pass}}}
	got := Matrix(good, bad)
	want := "| op | a | b |\n| --- | --- | --- |\n| Gemm | 2 pass | 1 pass, 1 FAIL |\n| Conv | 1 unsupported | - |\n"
	if got != want {
		t.Errorf("Matrix:\n%s\nwant:\n%s", got, want)
	}
}

func TestRunSkipsUnavailable(t *testing.T) {
	var inner *testing.T
	t.Run("unavailable", func(t *testing.T) {
		inner = t
		Run(t, engine.Config{Backend: "no-such-backend"})
		t.Error("Run returned instead of skipping")
	})
	if !inner.Skipped() {
		t.Error("an unavailable backend was not skipped")
	}
}

// TestRunOptionsMatch runs a filtered suite through testing.T: only the
// matching cases run, as subtests Op/Case.
func TestRunOptionsMatch(t *testing.T) {
	n := 0
	RunOptions(t, engine.Config{Backend: "cpu"}, Options{Match: func(op, name string) bool {
		ok := op == "ReLU"
		if ok {
			n++
		}
		return ok
	}})
	if n == 0 {
		t.Fatal("no ReLU case matched")
	}
}
