package suggest

import "testing"

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{
		{"", "", 0}, {"", "abc", 3}, {"abc", "", 3}, {"kitten", "sitting", 3},
		{"histgram", "histogram", 1}, {"hsitogram", "histogram", 1}, // transposition
		{"ca", "abc", 3}, // optimal string alignment, not full Damerau (which gives 2)
		{"l2", "l1", 1},
		{"calibrat", "calibrate", 1},
	} {
		if d := Distance(c.a, c.b); d != c.d {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, d, c.d)
		}
		if d := Distance(c.b, c.a); d != c.d {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetric)", c.b, c.a, d, c.d)
		}
	}
}

func TestNearest(t *testing.T) {
	commands := []string{"bench", "calibrate", "conformance", "dequantize", "devices", "inspect", "quantize", "run", "version"}
	ops := []string{"ConvInteger", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger", "QLinearConv", "QLinearMatMul", "QuantizeLinear"}
	for _, c := range []struct {
		s     string
		names []string
		want  string
	}{
		{"calibrat", commands, "calibrate"},
		{"devcies", commands, "devices"}, // transposition
		{"quantise", commands, "quantize"},
		{"confor", commands, "conformance"}, // the only name it begins
		{"de", commands, ""},                // too short for a prefix, too far for an edit
		{"frobnicate", commands, ""},
		{"QLinearMatmul", ops, "QLinearMatMul"}, // case only
		{"qlinearmatmul", ops, "QLinearMatMul"},
		{"QLinearMatMull", ops, "QLinearMatMul"},
		{"QuantizeLiner", ops, "QuantizeLinear"},
		{"Conv", ops, "ConvInteger"},
		{"Gemm", ops, ""},
		{"", ops, ""},
	} {
		if got := Nearest(c.s, c.names); got != c.want {
			t.Errorf("Nearest(%q) = %q, want %q", c.s, got, c.want)
		}
	}
}
