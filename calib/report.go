package calib

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// Report is the outcome of calibrating one tensor with one method.
type Report struct {
	Name      string  // tensor name (may be empty)
	Method    string  // e.g. "minmax", "kl", "l2"
	Target    Target  //
	Min, Max  float32 // chosen clipping range
	Scale     float32
	ZeroPoint int32
	SQNR      float64    // dB; +Inf for an exact round trip
	Stats     RangeStats // finite range and NaN/Inf counts of the data
}

// Calibrate runs o's range search for t, computes the parameters, and
// measures their SQNR on x (typically the calibration data or a sample).
func Calibrate(name, method string, o RangeObserver, t Target, x []float32) (Report, error) {
	lo, hi, err := o.Range(t)
	if err != nil {
		return Report{}, err
	}
	s, zp, err := QParams(lo, hi, t)
	if err != nil {
		return Report{}, err
	}
	r := Report{Name: name, Method: method, Target: t, Min: lo, Max: hi, Scale: s, ZeroPoint: zp, Stats: o.Stats()}
	r.SQNR, err = SQNRTensor(x, s, zp, t)
	if err != nil {
		return Report{}, err
	}
	return r, nil
}

func fmtDB(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	if math.IsInf(v, -1) {
		return "-Inf"
	}
	return fmt.Sprintf("%.2f", v)
}

// WriteTable writes the reports as an aligned text table with the columns
// tensor, method, target, min, max, scale, zp, SQNR (dB), NaN, +Inf, -Inf.
func WriteTable(w io.Writer, reports []Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tensor\tmethod\ttarget\tmin\tmax\tscale\tzp\tSQNR dB\tNaN\t+Inf\t-Inf\t")
	for _, r := range reports {
		tg := fmt.Sprintf("%v/%v", r.Target.DType, r.Target.Scheme)
		if r.Target.ReduceRange {
			tg += "/reduced"
		}
		name := r.Name
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.6g\t%.6g\t%.6g\t%d\t%s\t%d\t%d\t%d\t\n",
			name, r.Method, tg, r.Min, r.Max, r.Scale, r.ZeroPoint, fmtDB(r.SQNR), r.Stats.NaN, r.Stats.PosInf, r.Stats.NegInf)
	}
	return tw.Flush()
}

// FormatTable returns WriteTable's output as a string.
func FormatTable(reports []Report) string {
	var b strings.Builder
	_ = WriteTable(&b, reports)
	return b.String()
}
