package graph

import "math"

func init() {
	register(prepReduce, "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd",
		"ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp")
	register(prepArgMinMax, "ArgMax", "ArgMin")
}

// reduction is the iteration plan of a reduction: for output element o,
// the input elements are base[o] + roff[j] for every j.
type reduction struct {
	out  []int
	base []int
	roff []int
}

func (c *prepCtx) reducePlan(x []int, axes []int, keep bool) *reduction {
	red := make([]bool, len(x))
	for _, a := range axes {
		red[a] = true
	}
	var out, kept, rdims []int
	var kst, rst []int
	st := stridesOf(x)
	for k, d := range x {
		if red[k] {
			rdims = append(rdims, d)
			rst = append(rst, st[k])
			if keep {
				out = append(out, 1)
			}
		} else {
			out = append(out, d)
			kept = append(kept, d)
			kst = append(kst, st[k])
		}
	}
	c.checkShape("output", out)
	if c.err != nil {
		return nil
	}
	return &reduction{out: out, base: offsetsOf(kept, kst), roff: offsetsOf(rdims, rst)}
}

// offsetsOf lists the offsets sum_k i_k*st[k] over all indices of dims,
// in row-major order.
func offsetsOf(dims, st []int) []int {
	n := numel(dims)
	offs := make([]int, 0, n)
	pos := make([]int, len(dims))
	off := 0
	for i := 0; i < n; i++ {
		offs = append(offs, off)
		for k := len(dims) - 1; k >= 0; k-- {
			pos[k]++
			off += st[k]
			if pos[k] < dims[k] {
				break
			}
			off -= st[k] * dims[k]
			pos[k] = 0
		}
	}
	return offs
}

func prepReduce(c *prepCtx) ([]ValueInfo, kernel) {
	op := c.n.OpType
	c.nin(1, 2)
	switch op {
	case "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd":
		c.dtype(0, Float32, Int64, Int32)
	default:
		c.dtype(0, Float32)
	}
	keep := c.attrBool("keepdims", true)
	noop := c.attrBool("noop_with_empty_axes", false)
	axesIn, _ := c.axesArg(1)
	if c.err != nil {
		return nil, nil
	}
	x := c.in[0].Shape
	dt := c.in[0].DType
	var axes []int
	if len(axesIn) == 0 {
		if noop {
			return []ValueInfo{c.in[0]}, one(func(_ *execCtx, in []*Tensor) (*Tensor, error) { return in[0], nil })
		}
		for k := range x {
			axes = append(axes, k)
		}
	} else {
		axes = c.normAxes(axesIn, len(x))
	}
	plan := c.reducePlan(x, axes, keep)
	if c.err != nil {
		return nil, nil
	}
	return []ValueInfo{info(dt, plan.out)}, one(func(ec *execCtx, in []*Tensor) (*Tensor, error) {
		y := alloc(dt, plan.out)
		switch dt {
		case Float32:
			reduceFloat(ec, op, y.F32, in[0].F32, plan)
		case Int64:
			reduceInt(op, y.I64, in[0].I64, plan)
		case Int32:
			reduceInt(op, y.I32, in[0].I32, plan)
		}
		return y, nil
	})
}

func reduceFloat(ec *execCtx, op string, y, x []float32, p *reduction) {
	n := float64(len(p.roff))
	ec.parallelFor(len(p.base), func(lo, hi int) {
		for o := lo; o < hi; o++ {
			b := p.base[o]
			var r float64
			switch op {
			case "ReduceMax", "ReduceMin":
				r = math.Inf(1)
				if op == "ReduceMax" {
					r = math.Inf(-1)
				}
				for _, j := range p.roff {
					v := float64(x[b+j])
					if v != v || (op == "ReduceMax" && v > r) || (op == "ReduceMin" && v < r) {
						r = v
						if v != v {
							break
						}
					}
				}
			case "ReduceProd":
				r = 1
				for _, j := range p.roff {
					r *= float64(x[b+j])
				}
			case "ReduceLogSumExp":
				m := math.Inf(-1)
				for _, j := range p.roff {
					m = max(m, float64(x[b+j]))
				}
				s := 0.0
				for _, j := range p.roff {
					s += math.Exp(float64(x[b+j]) - m)
				}
				r = m + math.Log(s)
				if math.IsInf(m, 0) {
					r = m
				}
			default:
				for _, j := range p.roff {
					v := float64(x[b+j])
					switch op {
					case "ReduceSumSquare", "ReduceL2":
						v *= v
					case "ReduceL1":
						v = math.Abs(v)
					}
					r += v
				}
				switch op {
				case "ReduceMean":
					r /= n
				case "ReduceL2":
					r = math.Sqrt(r)
				case "ReduceLogSum":
					r = math.Log(r)
				}
			}
			y[o] = float32(r)
		}
	})
}

func reduceInt[T int64 | int32](op string, y, x []T, p *reduction) {
	for o, b := range p.base {
		var r T
		if op == "ReduceProd" {
			r = 1
		}
		for k, j := range p.roff {
			v := x[b+j]
			if k == 0 && (op == "ReduceMax" || op == "ReduceMin") {
				r = v
				continue
			}
			switch op {
			case "ReduceSum":
				r += v
			case "ReduceProd":
				r *= v
			case "ReduceMax":
				r = max(r, v)
			case "ReduceMin":
				r = min(r, v)
			}
		}
		y[o] = r
	}
}

func prepArgMinMax(c *prepCtx) ([]ValueInfo, kernel) {
	isMax := c.n.OpType == "ArgMax"
	c.nin(1, 1)
	c.dtype(0, Float32, Int64, Int32, Int8, Uint8)
	a := c.attrInt("axis", 0)
	keep := c.attrBool("keepdims", true)
	last := c.attrBool("select_last_index", false)
	if c.err != nil {
		return nil, nil
	}
	x := c.in[0].Shape
	ax := c.axis("axis", a, len(x))
	if c.err != nil {
		return nil, nil
	}
	plan := c.reducePlan(x, []int{ax}, keep)
	if c.err != nil {
		return nil, nil
	}
	return []ValueInfo{info(Int64, plan.out)}, one(func(_ *execCtx, in []*Tensor) (*Tensor, error) {
		y := alloc(Int64, plan.out)
		v := in[0]
		for o, b := range plan.base {
			best := 0
			for j := 1; j < len(plan.roff); j++ {
				p, q := v.float64At(b+plan.roff[j]), v.float64At(b+plan.roff[best])
				if (isMax && p > q) || (!isMax && p < q) || (last && p == q) {
					best = j
				}
			}
			y.I64[o] = int64(best)
		}
		return y, nil
	})
}
