package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/qgpu/qgpu/bench/models"
)

// benchCase is one shape of one op to time.
type benchCase struct {
	op    string // gemm, conv, quantize, dequantize, histogram, minmax, model
	shape string // as printed
	// gemm
	m, k, n int
	// conv
	cn, cc, ch, cw, co, kh, kw, pad, stride, group int
	// quantize, dequantize, histogram, minmax
	size int
	// matmulnbits (also m, k, n): the block size and the int8-activation
	// mode
	bs      int
	int8Act bool
}

// benchCases returns the cases of a suite; sizes are the element counts of
// the streaming ops (nil: streamSizes).
func benchCases(suite string, shapes []string, sizes []int) ([]benchCase, error) {
	for _, s := range sizes {
		if s < 1 {
			return nil, usagef("bench: --size must be positive")
		}
	}
	if len(sizes) == 0 {
		sizes = streamSizes
	}
	switch suite {
	case "gemm":
		return parseShapes(gemmSuite(), shapes, parseGemmShape)
	case "conv":
		return parseShapes(resnet50Conv, shapes, parseConvShape)
	case "model":
		return parseShapes(models.Names(), shapes, parseModel)
	case "matmulnbits":
		return parseShapes(nbitsSuite(), shapes, parseNBitsShape)
	case "quantize", "dequantize", "histogram", "all", "":
		if len(shapes) > 0 {
			if suite == "" || suite == "all" {
				return nil, usagef("bench: --shape needs a suite (gemm, conv or model)")
			}
			return nil, usagef("bench: %s takes --size, not --shape", suite)
		}
	default:
		names := []string{"gemm", "conv", "quantize", "dequantize", "histogram", "model", "matmulnbits", "all"}
		return nil, usagef("bench: unknown suite %q%s (%s, or none for the quick suite)", suite, didYouMean(suite, names), strings.Join(names, ", "))
	}
	switch suite {
	case "quantize", "dequantize":
		return streamCases(sizes, suite), nil
	case "histogram":
		return streamCases(sizes, "histogram", "minmax"), nil
	}
	gemm, conv := gemmSuite(), resnet50Conv
	if suite == "" {
		gemm, conv = quickGemm, quickConv
	}
	cs, _ := parseShapes(gemm, nil, parseGemmShape)
	cv, _ := parseShapes(conv, nil, parseConvShape)
	return append(append(cs, cv...), streamCases(sizes, "quantize", "dequantize", "histogram", "minmax")...), nil
}

// parseShapes parses shapes, or the suite's defaults def when there are
// none, with parse.
func parseShapes(def, shapes []string, parse func(string) (benchCase, error)) ([]benchCase, error) {
	if len(shapes) > 0 {
		def = shapes
	}
	var cs []benchCase
	for _, s := range def {
		c, err := parse(s)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// streamCases are the cases of the streaming ops at each size.
func streamCases(sizes []int, ops ...string) []benchCase {
	var cs []benchCase
	for _, op := range ops {
		for _, n := range sizes {
			cs = append(cs, benchCase{op: op, size: n, shape: sizeShape(n)})
		}
	}
	return cs
}

const maxBenchDim = 1 << 16

func parseGemmShape(s string) (benchCase, error) {
	d, err := parseInts(s, "x")
	if err != nil || len(d) != 3 {
		return benchCase{}, usagef("bench: GEMM shape %q: want MxKxN", s)
	}
	for _, v := range d {
		if v < 1 || v > maxBenchDim {
			return benchCase{}, usagef("bench: GEMM shape %q: dimensions must be in [1, %d]", s, maxBenchDim)
		}
	}
	return benchCase{op: "gemm", shape: fmt.Sprintf("%dx%dx%d", d[0], d[1], d[2]), m: d[0], k: d[1], n: d[2]}, nil
}

func parseConvShape(s string) (benchCase, error) {
	bad := func(why string) (benchCase, error) {
		return benchCase{}, usagef("bench: conv shape %q: %s (want NxCxHxW,OxKHxKW[,padP][,strideS][,groupG])", s, why)
	}
	parts := strings.Split(s, ",")
	if len(parts) < 2 {
		return bad("too few parts")
	}
	x, err := parseInts(parts[0], "x")
	if err != nil || len(x) != 4 {
		return bad("input is not NxCxHxW")
	}
	w, err := parseInts(parts[1], "x")
	if err != nil || len(w) != 3 {
		return bad("weights are not OxKHxKW")
	}
	c := benchCase{op: "conv", cn: x[0], cc: x[1], ch: x[2], cw: x[3], co: w[0], kh: w[1], kw: w[2], stride: 1, group: 1}
	for _, p := range parts[2:] {
		var dst *int
		var num string
		switch {
		case strings.HasPrefix(p, "pad"):
			dst, num = &c.pad, p[3:]
		case strings.HasPrefix(p, "stride"):
			dst, num = &c.stride, p[6:]
		case strings.HasPrefix(p, "group"):
			dst, num = &c.group, p[5:]
		default:
			return bad(fmt.Sprintf("unknown part %q", p))
		}
		v, err := strconv.Atoi(num)
		if err != nil {
			return bad(fmt.Sprintf("bad number in %q", p))
		}
		*dst = v
	}
	for _, v := range []int{c.cn, c.cc, c.ch, c.cw, c.co, c.kh, c.kw, c.stride, c.group} {
		if v < 1 || v > maxBenchDim {
			return bad(fmt.Sprintf("sizes must be in [1, %d]", maxBenchDim))
		}
	}
	if c.pad < 0 || c.pad > maxBenchDim {
		return bad("bad padding")
	}
	if c.cc%c.group != 0 || c.co%c.group != 0 {
		return bad("group must divide C and O")
	}
	c.shape = s
	return c, nil
}

// parseModel returns the bench case of a model name (models.Names).
func parseModel(s string) (benchCase, error) {
	if !slices.Contains(models.Names(), s) {
		return benchCase{}, usagef("bench: unknown model %q (want one of %s)", s, strings.Join(models.Names(), ", "))
	}
	return benchCase{op: "model", shape: s}, nil
}

// convOut returns the output height and width of a conv case.
func convOut(c benchCase) (oh, ow int) {
	return (c.ch+2*c.pad-c.kh)/c.stride + 1, (c.cw+2*c.pad-c.kw)/c.stride + 1
}
