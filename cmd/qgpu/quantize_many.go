package main

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/qtensor"
)

// qgpu quantize over every tensor of a .safetensors file that a pattern
// matches, and the absmax scheme.

// isPattern reports whether --tensor is a shell pattern.
func isPattern(s string) bool { return strings.ContainsAny(s, "*?[") }

// schemeParams is rangeParams, or for absmax the symmetric parameters
// scale = max(amax / q, calib.Eps) (see quantizeAbout).
func schemeParams(x []float32, shape []int, p qtensor.Params, tg calib.Target, absmax bool) (qtensor.Params, error) {
	if !absmax {
		return rangeParams(x, shape, p, tg)
	}
	qmin, qmax, err := tg.Range()
	if err != nil {
		return p, err
	}
	zp, err := tg.ZeroPointSymmetric()
	if err != nil {
		return p, err
	}
	q := min(zp-qmin, qmax-zp)
	if q < 1 {
		return p, fmt.Errorf("%w: the range [%d, %d] around zero point %d leaves no room for absmax", qtensor.ErrParams, qmin, qmax, zp)
	}
	n, err := p.NumPairs(shape)
	if err != nil {
		return p, err
	}
	amax := make([]float32, n)
	ix := p.Indexer(shape)
	for i, v := range x {
		a := float32(math.Abs(float64(v)))
		if a <= math.MaxFloat32 { // not NaN or ±Inf
			k := ix.Pair(i)
			amax[k] = max(amax[k], a)
		}
	}
	p.Scales, p.ZeroPoints = make([]float32, n), make([]int32, n)
	for k, a := range amax {
		s := max(a/float32(q), calib.Eps)
		if err := qtensor.CheckScale(s); err != nil {
			return p, fmt.Errorf("pair %d: %w", k, err)
		}
		p.Scales[k], p.ZeroPoints[k] = s, zp
	}
	return p, nil
}

// saturated counts the finite values of x whose rounded quotient fell
// outside the range (so quantizing clamped them).
func saturated(x []float32, shape []int, p qtensor.Params, d qtensor.DType, rule qtensor.Rounding) int {
	ix := p.Indexer(shape)
	n := 0
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			continue
		}
		k := ix.Pair(i)
		s, z := p.Scales[k], p.ZeroPoints[k]
		var r float32
		if rule == qtensor.RoundTorch {
			r = qtensor.RoundHalfEven(v * (1 / s))
		} else {
			r = qtensor.RoundHalfEven(v / s)
		}
		if f := float64(r) + float64(z); f < float64(d.QMin()) || f > float64(d.QMax()) {
			n++
		}
	}
	return n
}

// quantizeMany quantizes every float tensor of the .safetensors file in
// whose name matches pattern (comma-separated path.Match patterns; "":
// every tensor) into the .safetensors file out.
func quantizeMany(in, pattern, out string, format fileFormat, tg calib.Target, absmax bool, axis int, axisGiven bool, block int,
	rule qtensor.Rounding, backend string, stdout, stderr io.Writer) error {
	if _, err := matchTensor(pattern, ""); err != nil {
		return err
	}
	if f, err := sniffFormat(in); err != nil {
		return err
	} else if f != formatSafetensors {
		return usagef("quantize: --tensor %s is a pattern, for .safetensors files; %s is a %s file holding one tensor", shortQ(pattern), in, f.ext())
	}
	if format != formatSafetensors {
		return usagef("quantize: --tensor %s may match several tensors: write them to a .safetensors --out", shortQ(pattern))
	}
	st, err := qtensor.OpenSafetensors(in)
	if err != nil {
		return asUsage(err)
	}
	defer st.Close()
	var names []string
	for _, n := range primaryNames(st) {
		if ok, _ := matchTensor(pattern, n); ok || pattern == "" {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return usagef("quantize: no tensor of %s matches %s (qgpu inspect %s lists them)", in, shortQ(pattern), in)
	}
	scheme := map[bool]string{true: "absmax", false: tg.Scheme.String()}[absmax]
	var entries []qtensor.SafetensorsTensor
	meta := map[string]string{}
	done := 0
	for _, name := range names {
		x, params, err := readSafetensors(st, in, name)
		if err != nil {
			return err
		}
		if params || x.DType != qtensor.Float32 {
			warnf(stderr, "%s: %s holds %v values, not float: left out", in, quoteName(name), x.DType)
			continue
		}
		if x.Len() == 0 {
			warnf(stderr, "%s: %s is empty: left out", in, quoteName(name))
			continue
		}
		gran, err := granularity("quantize", x.Shape, axis, axisGiven, block)
		if err != nil {
			return fmt.Errorf("%s: %w", quoteName(name), err)
		}
		xs := x.Float32s()
		p, err := schemeParams(xs, x.Shape, gran, tg, absmax)
		if err != nil {
			return asUsage(fmt.Errorf("quantize: %s: %w", quoteName(name), err))
		}
		q, err := quantizeOn(backend, x, tg.DType, p, rule)
		if err != nil {
			return err
		}
		ts, m, err := safetensorsEntries(name, q)
		if err != nil {
			return err
		}
		entries = append(entries, ts...)
		for k, v := range m {
			meta[k] = v
		}
		sq, _ := sqnr(xs, q)
		sat := saturated(xs, x.Shape, p, tg.DType, rule)
		fmt.Fprintf(stdout, "%s: %v%v, %v %s %s: %d pair(s), SQNR %s dB, %d of %d (%.2f%%) saturated\n",
			quoteName(name), x.DType, x.Shape, tg.DType, scheme, p.Granularity, len(p.Scales), fmtDB(sq), sat, x.Len(), 100*float64(sat)/float64(x.Len()))
		done++
	}
	if done == 0 {
		return usagef("quantize: none of the tensors of %s matching %s holds float values", in, shortQ(pattern))
	}
	if err := qtensor.WriteFileAtomic(out, func(w io.Writer) error { return qtensor.WriteSafetensors(w, entries, meta) }); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d tensor(s) -> %s\n", done, out)
	return nil
}
