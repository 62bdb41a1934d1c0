package calib

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/qgpu/qgpu/qtensor"
)

func TestMethodTable(t *testing.T) {
	seen := map[Method]bool{}
	names := map[string]bool{}
	for _, mi := range Methods() {
		if seen[mi.Method] {
			t.Errorf("%v listed twice", mi.Method)
		}
		seen[mi.Method] = true
		for _, n := range append([]string{mi.Name}, mi.Aliases...) {
			if names[n] || n != strings.ToLower(n) || n == "all" {
				t.Errorf("name %q: duplicate, not lower case or reserved", n)
			}
			names[n] = true
		}
		if mi.About == "" || mi.Method.String() != mi.Name {
			t.Errorf("%+v", mi)
		}
	}
	for m := Method(0); m < numMethods; m++ {
		if !seen[m] {
			t.Errorf("method %d missing from the table", m)
		}
	}
	if s := numMethods.String(); s != "Method(8)" {
		t.Errorf("unknown method prints %q", s)
	}
}

func TestParseMethod(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Method
	}{
		{"minmax", MethodMinMax}, {"MinMax", MethodMinMax}, // ONNX Runtime's CalibrationMethod.MinMax
		{"Entropy", MethodKL}, {"entropy", MethodKL}, {"kl", MethodKL},
		{"Percentile", MethodPercentile},
		{"histogram", MethodL2}, {"l2", MethodL2}, {" L1 ", MethodL1}, {"l2-greedy", MethodL2Greedy},
		{"moving-average", MethodMovingAverage}, {"torch-histogram", MethodTorchHistogram},
		{"HistogramObserver", MethodTorchHistogram},
	} {
		m, err := ParseMethod(c.in)
		if err != nil || m != c.want {
			t.Errorf("ParseMethod(%q) = %v, %v; want %v", c.in, m, err, c.want)
		}
	}
	for _, c := range []struct{ in, hint string }{
		{"histgram", "did you mean histogram (= l2)?"},
		{"entropi", "did you mean entropy (= kl)?"},
		{"minmx", "did you mean minmax?"},
		{"moving", "did you mean moving-average?"}, // the one name it begins
		{"kll", "did you mean kl?"},
		{"mse", ""},
		{"", ""},
	} {
		_, err := ParseMethod(c.in)
		if !errors.Is(err, ErrUnknownMethod) || !errors.Is(err, qtensor.ErrParams) {
			t.Fatalf("ParseMethod(%q): %v", c.in, err)
		}
		if c.hint != "" && !strings.Contains(err.Error(), c.hint) || c.hint == "" && strings.Contains(err.Error(), "did you mean") {
			t.Errorf("ParseMethod(%q): %v, want hint %q", c.in, err, c.hint)
		}
		if !strings.Contains(err.Error(), "torch-histogram") {
			t.Errorf("ParseMethod(%q): %v does not list the methods", c.in, err)
		}
	}
}

// TestNewObserver builds every method's observer and checks the range on
// data whose answer is known for the min/max methods.
func TestNewObserver(t *testing.T) {
	x := []float32{-1, 0.5, 2, 3}
	for _, mi := range Methods() {
		o, err := NewObserver(mi.Method, ObserverOptions{Bins: 64, Percentile: 1})
		if err != nil {
			t.Fatalf("%s: %v", mi.Name, err)
		}
		if err := o.Observe(context.Background(), x, nil); err != nil {
			t.Fatalf("%s: %v", mi.Name, err)
		}
		lo, hi, err := o.Range(Uint8Affine)
		if err != nil {
			t.Fatalf("%s: %v", mi.Name, err)
		}
		if (mi.Method == MethodMinMax || mi.Method == MethodMovingAverage) && (lo != -1 || hi != 3) {
			t.Errorf("%s: range [%g, %g], want [-1, 3]", mi.Name, lo, hi)
		}
		if lo < -1 || hi > 3 || lo >= hi {
			t.Errorf("%s: range [%g, %g] outside the data's [-1, 3]", mi.Name, lo, hi)
		}
		if _, err := o.Params(Uint8Affine); err != nil {
			t.Errorf("%s: %v", mi.Name, err)
		}
	}
	for _, c := range []struct {
		m Method
		o ObserverOptions
	}{
		{numMethods, ObserverOptions{}},
		{MethodMovingAverage, ObserverOptions{AveragingConstant: 2}},
		{MethodPercentile, ObserverOptions{Percentile: 1.5}},
		{MethodTorchHistogram, ObserverOptions{Bins: 1 << 16}},
		{MethodL2, ObserverOptions{Bins: 3}},
	} {
		if _, err := NewObserver(c.m, c.o); !errors.Is(err, qtensor.ErrParams) {
			t.Errorf("NewObserver(%v, %+v): %v", c.m, c.o, err)
		}
	}
	if _, err := NewHistogramObserver(MethodTorchHistogram, 0, nil); !errors.Is(err, ErrUnknownMethod) {
		t.Errorf("a histogram observer with a non-search method: %v", err)
	}
}
