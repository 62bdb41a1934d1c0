package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/qgpu/qgpu/qtensor"
)

// sqnr is 10*log10(sum x^2 / sum (x - dequant(q))^2) over the finite x
// (docs/semantics.md section 5), with the dequantized values from qtensor.Dequantize.
func sqnr(x []float32, q *qtensor.Tensor) (float64, error) {
	y, err := q.DequantizeFloat32()
	if err != nil {
		return 0, err
	}
	return sqnrOf(x, y)
}

func sqnrOf(x, y []float32) (float64, error) {
	if len(x) != len(y) {
		return 0, fmt.Errorf("%d reference values against %d", len(x), len(y))
	}
	var sig, noise float64
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			continue
		}
		sig += float64(v) * float64(v)
		e := float64(v) - float64(y[i])
		noise += e * e
	}
	switch {
	case noise == 0:
		return math.Inf(1), nil
	case sig == 0:
		return math.Inf(-1), nil
	}
	return 10 * math.Log10(sig/noise), nil
}

// fmtDB prints a decibel value with two decimals, or ±Inf.
func fmtDB(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return fmt.Sprintf("%.2f", v)
}

// floatStats summarises float values.
type floatStats struct {
	n, nan, posInf, negInf int
	min, max, mean, std    float64
}

func statsOf(x []float32) floatStats {
	s := floatStats{min: math.Inf(1), max: math.Inf(-1)}
	var sum, sum2 float64
	for _, v := range x {
		f := float64(v)
		switch {
		case math.IsNaN(f):
			s.nan++
			continue
		case math.IsInf(f, 1):
			s.posInf++
			continue
		case math.IsInf(f, -1):
			s.negInf++
			continue
		}
		s.n++
		s.min, s.max = min(s.min, f), max(s.max, f)
		sum += f
		sum2 += f * f
	}
	if s.n > 0 {
		s.mean = sum / float64(s.n)
		s.std = math.Sqrt(max(0, sum2/float64(s.n)-s.mean*s.mean))
	}
	return s
}

func (s floatStats) String() string {
	if s.n == 0 {
		return fmt.Sprintf("no finite values (%d NaN, %d +Inf, %d -Inf)", s.nan, s.posInf, s.negInf)
	}
	r := fmt.Sprintf("min %.6g, max %.6g, mean %.6g, std %.6g", s.min, s.max, s.mean, s.std)
	if s.nan+s.posInf+s.negInf > 0 {
		r += fmt.Sprintf(" (%d NaN, %d +Inf, %d -Inf left out)", s.nan, s.posInf, s.negInf)
	}
	return r
}

func intRange(v []int32) (lo, hi int32) {
	if len(v) == 0 {
		return 0, 0
	}
	lo, hi = v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

// firstFew lists up to 8 values, for a glance at per-channel parameters.
func firstFew[T any](v []T) string {
	if len(v) <= 1 {
		return ""
	}
	n := min(len(v), 8)
	parts := make([]string, n)
	for i := range n {
		parts[i] = fmt.Sprint(v[i])
	}
	s := "; " + strings.Join(parts, " ")
	if len(v) > n {
		s += " ..."
	}
	return s
}
