package calib

import (
	"context"
	"math"
	"strings"
	"testing"
)

func TestReportTable(t *testing.T) {
	o := &MinMaxObserver{}
	x := []float32{0, 1, 2, float32(math.NaN()), float32(math.Inf(-1))}
	if err := o.Observe(context.Background(), x, nil); err != nil {
		t.Fatal(err)
	}
	// scale 2/255 does not represent 1 exactly, so force an exact case too
	r1, err := Calibrate("w", "minmax", o, Uint8Affine, x)
	if err != nil {
		t.Fatal(err)
	}
	r2 := Report{Name: "", Method: "kl", Target: Target{DType: 2, Scheme: Symmetric, ReduceRange: true}, Scale: 1, SQNR: math.Inf(1)}
	out := FormatTable([]Report{r1, r2})
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("want header + 2 rows, got:\n%s", out)
	}
	for _, want := range []string{"tensor", "method", "SQNR dB", "NaN", "+Inf", "-Inf"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("header lacks %q: %s", want, lines[0])
		}
	}
	f1 := strings.Fields(lines[1])
	// w minmax uint8/affine 0 2 scale zp sqnr NaN=1 +Inf=0 -Inf=1
	if len(f1) != 11 || f1[0] != "w" || f1[2] != "uint8/affine" || f1[3] != "0" || f1[4] != "2" || f1[8] != "1" || f1[9] != "0" || f1[10] != "1" {
		t.Errorf("row 1: %q", f1)
	}
	f2 := strings.Fields(lines[2])
	if len(f2) != 11 || f2[0] != "-" || f2[2] != "int8/symmetric/reduced" || f2[7] != "+Inf" {
		t.Errorf("row 2: %q", f2)
	}
}
