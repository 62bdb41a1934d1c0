package graph

import (
	"math"
	"slices"
)

// Shape and data movement ops: exact for every element type.

func init() {
	register(prepReshape, "Reshape")
	register(prepFlatten, "Flatten")
	register(prepSqueeze, "Squeeze")
	register(prepUnsqueeze, "Unsqueeze")
	register(prepIdentity, "Identity")
	register(prepDropout, "Dropout")
	register(prepTranspose, "Transpose")
	register(prepConcat, "Concat")
	register(prepSplit, "Split")
	register(prepSlice, "Slice")
	register(prepPad, "Pad")
	register(prepExpand, "Expand")
	register(prepTile, "Tile")
	register(prepGather, "Gather")
	register(prepShape, "Shape")
	register(prepSize, "Size")
	register(prepConstantOfShape, "ConstantOfShape")
	register(prepConstant, "Constant")
	register(prepRange, "Range")
	register(prepDepthToSpace, "DepthToSpace")
	register(prepSpaceToDepth, "SpaceToDepth")
}

var allTypes = []DType{Float32, Int64, Int32, Int8, Uint8, Bool}

// viewKernel returns input 0 with another shape, sharing its data.
func viewKernel(shape []int) kernel {
	return one(func(_ *execCtx, in []*Tensor) (*Tensor, error) { return in[0].view(shape), nil })
}

func prepReshape(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(2, 2)
	c.dtype(1, Int64)
	allowZero := c.attrBool("allowzero", false)
	spec := c.constInts(1)
	if c.err != nil {
		return nil, nil
	}
	in := c.in[0].Shape
	out := make([]int, len(spec))
	infer := -1
	known := 1
	for i, s := range spec {
		switch {
		case s == -1:
			if infer >= 0 {
				c.fail(ErrParams, "shape %v has more than one -1", spec)
				return nil, nil
			}
			infer = i
			continue
		case s == 0 && !allowZero:
			if i >= len(in) {
				c.fail(ErrParams, "shape %v copies dimension %d of %v, which has rank %d", spec, i, in, len(in))
				return nil, nil
			}
			out[i] = in[i]
		case s < 0 || s > math.MaxInt32:
			c.fail(ErrParams, "shape %v has an invalid dimension %d", spec, s)
			return nil, nil
		default:
			out[i] = int(s)
		}
		if out[i] != 0 && known > math.MaxInt/out[i] {
			c.fail(ErrShape, "shape %v overflows", spec)
			return nil, nil
		}
		known *= out[i]
	}
	total := numel(in)
	if infer >= 0 {
		if allowZero && slices.Contains(spec, 0) {
			c.fail(ErrParams, "shape %v has both 0 and -1 with allowzero=1", spec)
			return nil, nil
		}
		if known == 0 || total%known != 0 {
			c.fail(ErrShape, "cannot reshape %v to %v", in, spec)
			return nil, nil
		}
		out[infer] = total / known
	}
	if numel(out) != total {
		c.fail(ErrShape, "cannot reshape %v (%d elements) to %v", in, total, out)
		return nil, nil
	}
	return []ValueInfo{info(c.in[0].DType, out)}, viewKernel(out)
}

func prepFlatten(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(1, 1)
	if c.err != nil {
		return nil, nil
	}
	in := c.in[0].Shape
	a := c.attrInt("axis", 1)
	if a < -int64(len(in)) || a > int64(len(in)) {
		c.fail(ErrParams, "axis %d out of range for rank %d", a, len(in))
		return nil, nil
	}
	if a < 0 {
		a += int64(len(in))
	}
	out := []int{numel(in[:a]), numel(in[a:])}
	return []ValueInfo{info(c.in[0].DType, out)}, viewKernel(out)
}

// axesArg reads axes from an attribute (older opsets) or input i (newer).
func (c *prepCtx) axesArg(i int) (axes []int64, given bool) {
	if a := c.attrInts("axes", nil); a != nil || c.has("axes") {
		return a, true
	}
	if c.present(i) {
		c.dtype(i, Int64)
		return c.constInts(i), true
	}
	return nil, false
}

// normAxes normalises and checks a list of distinct axes.
func (c *prepCtx) normAxes(axes []int64, rank int) []int {
	out := make([]int, len(axes))
	seen := map[int]bool{}
	for i, a := range axes {
		out[i] = c.axis("axis", a, rank)
		if seen[out[i]] {
			c.fail(ErrParams, "axes %v repeat an axis", axes)
		}
		seen[out[i]] = true
	}
	return out
}

func prepSqueeze(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(1, 2)
	if c.err != nil {
		return nil, nil
	}
	in := c.in[0].Shape
	axes, given := c.axesArg(1)
	drop := map[int]bool{}
	if given && len(axes) > 0 {
		for _, a := range c.normAxes(axes, len(in)) {
			if c.err == nil && in[a] != 1 {
				c.fail(ErrShape, "cannot squeeze axis %d of %v", a, in)
			}
			drop[a] = true
		}
	} else {
		for k, d := range in {
			if d == 1 {
				drop[k] = true
			}
		}
	}
	out := []int{}
	for k, d := range in {
		if !drop[k] {
			out = append(out, d)
		}
	}
	return []ValueInfo{info(c.in[0].DType, out)}, viewKernel(out)
}

func prepUnsqueeze(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(1, 2)
	if c.err != nil {
		return nil, nil
	}
	in := c.in[0].Shape
	axes, given := c.axesArg(1)
	if !given {
		c.fail(ErrParams, "axes are required")
	}
	r := len(in) + len(axes)
	ins := map[int]bool{}
	for _, a := range c.normAxes(axes, r) {
		ins[a] = true
	}
	out := make([]int, 0, r)
	k := 0
	for i := 0; i < r; i++ {
		if ins[i] {
			out = append(out, 1)
		} else if k < len(in) {
			out = append(out, in[k])
			k++
		}
	}
	return []ValueInfo{info(c.in[0].DType, out)}, viewKernel(out)
}

func prepIdentity(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(1, 1)
	if c.err != nil {
		return nil, nil
	}
	return []ValueInfo{c.in[0]}, one(func(_ *execCtx, in []*Tensor) (*Tensor, error) { return in[0], nil })
}

func prepDropout(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(1, 3)
	c.attrInt("seed", 0)
	if c.opset < 12 {
		c.attrFloat("ratio", 0.5)
		if c.attrBool("is_test", true) == false && c.opset < 7 {
			c.fail(ErrUnsupported, "training mode")
		}
	}
	if c.present(2) {
		c.dtype(2, Bool)
		if t := c.consts[2]; t == nil || t.Bool[0] {
			c.fail(ErrUnsupported, "training_mode must be a constant false")
		}
	}
	if c.err != nil {
		return nil, nil
	}
	x := c.in[0]
	wantMask := len(c.n.Outputs) > 1 && c.n.Outputs[1] != ""
	return []ValueInfo{x, info(Bool, x.Shape)}, func(_ *execCtx, in []*Tensor) ([]*Tensor, error) {
		if !wantMask {
			return []*Tensor{in[0], nil}, nil
		}
		mask := alloc(Bool, x.Shape)
		fillT(mask.Bool, true)
		return []*Tensor{in[0], mask}, nil
	}
}

func prepTranspose(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(1, 1)
	if c.err != nil {
		return nil, nil
	}
	in := c.in[0].Shape
	r := len(in)
	perm := c.attrInts("perm", nil)
	if perm == nil {
		for k := r - 1; k >= 0; k-- {
			perm = append(perm, int64(k))
		}
	}
	if len(perm) != r {
		c.fail(ErrParams, "perm %v for rank %d", perm, r)
		return nil, nil
	}
	p := c.normAxes(perm, r)
	if c.err != nil {
		return nil, nil
	}
	out := make([]int, r)
	ist := stridesOf(in)
	src := make([]int, r)
	for k := range p {
		out[k] = in[p[k]]
		src[k] = ist[p[k]]
	}
	dt := c.in[0].DType
	b := box{dims: out, dst: stridesOf(out), src: src}
	return []ValueInfo{info(dt, out)}, one(func(_ *execCtx, x []*Tensor) (*Tensor, error) {
		y := alloc(dt, out)
		copyBox(y, x[0], b)
		return y, nil
	})
}

func prepConcat(c *prepCtx) ([]ValueInfo, kernel) {
	if len(c.in) == 0 {
		c.fail(ErrParams, "takes at least one input")
		return nil, nil
	}
	c.nin(len(c.in), len(c.in))
	if !c.has("axis") {
		c.fail(ErrParams, "attribute axis is required")
	}
	a := c.attrInt("axis", 0)
	if c.err != nil {
		return nil, nil
	}
	first := c.in[0]
	r := len(first.Shape)
	if r == 0 {
		c.fail(ErrShape, "cannot concatenate scalars")
		return nil, nil
	}
	ax := c.axis("axis", a, r)
	out := slices.Clone(first.Shape)
	out[ax] = 0
	offs := make([]int, len(c.in))
	for i, v := range c.in {
		c.sameType(0, i)
		if len(v.Shape) != r {
			c.fail(ErrShape, "input %d has shape %v, input 0 %v", i, v.Shape, first.Shape)
			return nil, nil
		}
		for k := range v.Shape {
			if k != ax && v.Shape[k] != first.Shape[k] {
				c.fail(ErrShape, "input %d has shape %v, input 0 %v (axis %d)", i, v.Shape, first.Shape, ax)
				return nil, nil
			}
		}
		offs[i] = out[ax]
		out[ax] += v.Shape[ax]
	}
	c.checkShape("output", out)
	if c.err != nil {
		return nil, nil
	}
	ost := stridesOf(out)
	shapes := slices.Clone(c.in)
	return []ValueInfo{info(first.DType, out)}, one(func(_ *execCtx, x []*Tensor) (*Tensor, error) {
		y := alloc(first.DType, out)
		for i, t := range x {
			copyBox(y, t, box{dims: shapes[i].Shape, dst: ost, src: stridesOf(shapes[i].Shape), doff: offs[i] * ost[ax]})
		}
		return y, nil
	})
}

func prepSplit(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(1, 2)
	a := c.attrInt("axis", 0)
	nout := len(c.n.Outputs)
	var split []int64
	if s := c.attrInts("split", nil); s != nil {
		split = s
	} else if c.present(1) {
		c.dtype(1, Int64)
		split = c.constInts(1)
	}
	numOut := c.attrInt("num_outputs", 0)
	if c.err != nil {
		return nil, nil
	}
	in := c.in[0].Shape
	if len(in) == 0 {
		c.fail(ErrShape, "cannot split a scalar")
		return nil, nil
	}
	ax := c.axis("axis", a, len(in))
	if c.err != nil {
		return nil, nil
	}
	d := in[ax]
	var sizes []int
	switch {
	case split != nil:
		if len(split) != nout {
			c.fail(ErrParams, "split %v has %d entries for %d outputs", split, len(split), nout)
			return nil, nil
		}
		sum := int64(0)
		for _, s := range split {
			if s < 0 || s > int64(d) {
				c.fail(ErrParams, "split %v has an invalid size for dimension %d", split, d)
				return nil, nil
			}
			sum += s
			sizes = append(sizes, int(s))
		}
		if sum != int64(d) {
			c.fail(ErrShape, "split %v does not sum to dimension %d", split, d)
			return nil, nil
		}
	default:
		if numOut != 0 && numOut != int64(nout) {
			c.fail(ErrParams, "num_outputs %d but %d outputs", numOut, nout)
			return nil, nil
		}
		if numOut == 0 && d%nout != 0 {
			c.fail(ErrShape, "dimension %d does not split evenly into %d outputs", d, nout)
			return nil, nil
		}
		chunk := (d + nout - 1) / nout
		for i := 0; i < nout; i++ {
			s := min(chunk, d-i*chunk)
			if s < 0 {
				s = 0
			}
			sizes = append(sizes, s)
		}
	}
	dt := c.in[0].DType
	ist := stridesOf(in)
	outs := make([]ValueInfo, nout)
	boxes := make([]box, nout)
	off := 0
	for i, s := range sizes {
		sh := slices.Clone(in)
		sh[ax] = s
		outs[i] = info(dt, sh)
		boxes[i] = box{dims: sh, dst: stridesOf(sh), src: ist, soff: off * ist[ax]}
		off += s
	}
	return outs, func(_ *execCtx, x []*Tensor) ([]*Tensor, error) {
		res := make([]*Tensor, nout)
		for i := range res {
			res[i] = alloc(dt, outs[i].Shape)
			copyBox(res[i], x[0], boxes[i])
		}
		return res, nil
	}
}

func prepSlice(c *prepCtx) ([]ValueInfo, kernel) {
	var starts, ends, axes, steps []int64
	if c.opset < 10 {
		c.nin(1, 1)
		starts = c.attrInts("starts", nil)
		ends = c.attrInts("ends", nil)
		axes = c.attrInts("axes", nil)
	} else {
		c.nin(3, 5)
		for i := 1; i < len(c.in); i++ {
			c.dtype(i, Int64, Int32)
		}
		starts = c.constInts(1)
		ends = c.constInts(2)
		if c.present(3) {
			axes = c.constInts(3)
		}
		if c.present(4) {
			steps = c.constInts(4)
		}
	}
	if c.err != nil {
		return nil, nil
	}
	in := c.in[0].Shape
	r := len(in)
	if len(starts) != len(ends) || (axes != nil && len(axes) != len(starts)) || (steps != nil && len(steps) != len(starts)) {
		c.fail(ErrParams, "starts %v, ends %v, axes %v and steps %v differ in length", starts, ends, axes, steps)
		return nil, nil
	}
	if axes == nil {
		for i := range starts {
			axes = append(axes, int64(i))
		}
	}
	ax := c.normAxes(axes, r)
	if c.err != nil {
		return nil, nil
	}
	out := slices.Clone(in)
	st := make([]int, r)  // start per axis
	stp := make([]int, r) // step per axis
	for k := range stp {
		stp[k] = 1
	}
	for i, k := range ax {
		step := int64(1)
		if steps != nil {
			step = steps[i]
		}
		if step == 0 {
			c.fail(ErrParams, "step 0 on axis %d", k)
			return nil, nil
		}
		d := int64(in[k])
		s, e := starts[i], ends[i]
		if s < 0 {
			s += d
		}
		if e < 0 {
			e += d
		}
		var n int64
		if step > 0 {
			s = min(max(s, 0), d)
			e = min(max(e, 0), d)
			if e > s {
				n = (e - s + step - 1) / step
			}
		} else {
			s = min(max(s, -1), d-1)
			e = min(max(e, -1), d-1)
			if s > e {
				n = (s - e + (-step) - 1) / (-step)
			}
		}
		out[k] = int(n)
		st[k] = int(s)
		stp[k] = int(step)
	}
	ist := stridesOf(in)
	b := box{dims: out, dst: stridesOf(out), src: make([]int, r)}
	for k := range in {
		b.src[k] = ist[k] * stp[k]
		if out[k] > 0 {
			b.soff += st[k] * ist[k]
		}
	}
	dt := c.in[0].DType
	return []ValueInfo{info(dt, out)}, one(func(_ *execCtx, x []*Tensor) (*Tensor, error) {
		y := alloc(dt, out)
		copyBox(y, x[0], b)
		return y, nil
	})
}

func prepPad(c *prepCtx) ([]ValueInfo, kernel) {
	mode := c.attrString("mode", "constant")
	c.oneOf("mode", mode, "constant", "reflect", "edge", "wrap")
	var pads []int64
	var axes []int64
	value := 0.0
	var valueT *Tensor
	if c.opset < 11 {
		c.nin(1, 1)
		pads = c.attrInts("pads", nil)
		value = float64(c.attrFloat("value", 0))
		if pads == nil {
			c.fail(ErrParams, "attribute pads is required")
		}
	} else {
		c.nin(2, 4)
		c.dtype(1, Int64)
		pads = c.constInts(1)
		if c.present(2) {
			c.sameType(0, 2)
			if c.err == nil && c.consts[2] == nil {
				c.fail(ErrUnsupported, "constant_value must be a constant")
			} else if c.err == nil {
				if c.consts[2].Len() != 1 {
					c.fail(ErrShape, "constant_value must hold one element")
				} else {
					valueT = elemAt(c.consts[2], 0)
				}
			}
		}
		if c.present(3) {
			c.dtype(3, Int64, Int32)
			axes = c.constInts(3)
		}
	}
	if c.err != nil {
		return nil, nil
	}
	dt := c.in[0].DType
	in := c.in[0].Shape
	r := len(in)
	ax := make([]int, 0, r)
	if axes != nil {
		ax = c.normAxes(axes, r)
	} else {
		for k := 0; k < r; k++ {
			ax = append(ax, k)
		}
	}
	if len(pads) != 2*len(ax) {
		c.fail(ErrParams, "pads %v needs %d entries", pads, 2*len(ax))
		return nil, nil
	}
	begin := make([]int, r)
	out := slices.Clone(in)
	for i, k := range ax {
		b, e := pads[i], pads[i+len(ax)]
		if b < -int64(in[k]) || e < -int64(in[k]) || b > math.MaxInt32 || e > math.MaxInt32 {
			c.fail(ErrParams, "pads %v invalid for shape %v", pads, in)
			return nil, nil
		}
		begin[k] = int(b)
		out[k] = in[k] + int(b) + int(e)
		if out[k] < 0 {
			c.fail(ErrShape, "pads %v crop shape %v below zero", pads, in)
			return nil, nil
		}
		if mode != "constant" && in[k] == 0 && out[k] > 0 {
			c.fail(ErrShape, "%s padding of an empty axis", mode)
			return nil, nil
		}
	}
	c.checkShape("output", out)
	if c.err != nil {
		return nil, nil
	}
	if valueT == nil {
		valueT = scalarOf(dt, value)
	}
	// The index map: the source element of every output element (-1:
	// the pad value).
	n := numel(out)
	idx := make([]int, n)
	ist := stridesOf(in)
	pos := make([]int, r)
	for i := 0; i < n; i++ {
		src := 0
		for k := 0; k < r && src >= 0; k++ {
			j := pos[k] - begin[k]
			d := in[k]
			if j < 0 || j >= d {
				switch mode {
				case "constant":
					src = -1
					continue
				case "edge":
					j = min(max(j, 0), d-1)
				case "wrap":
					j = ((j % d) + d) % d
				case "reflect":
					if d == 1 {
						j = 0
					} else {
						p := 2 * (d - 1)
						j = ((j % p) + p) % p
						if j >= d {
							j = p - j
						}
					}
				}
			}
			src += j * ist[k]
		}
		idx[i] = src
		for k := r - 1; k >= 0; k-- {
			pos[k]++
			if pos[k] < out[k] {
				break
			}
			pos[k] = 0
		}
	}
	return []ValueInfo{info(dt, out)}, one(func(_ *execCtx, x []*Tensor) (*Tensor, error) {
		y := alloc(dt, out)
		if mode == "constant" {
			fillFrom(y, valueT)
		}
		take(y, x[0], idx)
		return y, nil
	})
}

// broadcastShape is numpy's multidirectional broadcast of two shapes.
func broadcastShape(a, b []int) ([]int, bool) {
	r := max(len(a), len(b))
	out := make([]int, r)
	for i := 0; i < r; i++ {
		da, db := 1, 1
		if j := i - (r - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (r - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		default:
			return nil, false
		}
	}
	return out, true
}

// bstrides returns the strides of a tensor of shape s broadcast to out:
// 0 along broadcast dimensions.
func bstrides(s, out []int) []int {
	st := stridesOf(s)
	r := make([]int, len(out))
	off := len(out) - len(s)
	for i := range out {
		if j := i - off; j >= 0 && s[j] != 1 {
			r[i] = st[j]
		}
	}
	return r
}

func prepExpand(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(2, 2)
	c.dtype(1, Int64)
	spec := c.constInts(1)
	if c.err != nil {
		return nil, nil
	}
	shape := make([]int, len(spec))
	for i, s := range spec {
		if s < 0 || s > math.MaxInt32 {
			c.fail(ErrParams, "shape %v has an invalid dimension", spec)
			return nil, nil
		}
		shape[i] = int(s)
	}
	in := c.in[0].Shape
	out, ok := broadcastShape(in, shape)
	if !ok {
		c.fail(ErrShape, "cannot expand %v to %v", in, spec)
		return nil, nil
	}
	c.checkShape("output", out)
	if c.err != nil {
		return nil, nil
	}
	dt := c.in[0].DType
	b := box{dims: out, dst: stridesOf(out), src: bstrides(in, out)}
	return []ValueInfo{info(dt, out)}, one(func(_ *execCtx, x []*Tensor) (*Tensor, error) {
		y := alloc(dt, out)
		copyBox(y, x[0], b)
		return y, nil
	})
}

func prepTile(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(2, 2)
	c.dtype(1, Int64)
	reps := c.constInts(1)
	if c.err != nil {
		return nil, nil
	}
	in := c.in[0].Shape
	r := len(in)
	if len(reps) != r {
		c.fail(ErrParams, "repeats %v for rank %d", reps, r)
		return nil, nil
	}
	out := make([]int, r)
	for k := range in {
		if reps[k] < 0 || reps[k] > math.MaxInt32 {
			c.fail(ErrParams, "repeats %v invalid", reps)
			return nil, nil
		}
		if in[k] != 0 && int(reps[k]) > math.MaxInt/in[k] {
			c.fail(ErrShape, "repeats %v overflow", reps)
			return nil, nil
		}
		out[k] = in[k] * int(reps[k])
	}
	c.checkShape("output", out)
	if c.err != nil {
		return nil, nil
	}
	// Box over [r0, d0, r1, d1, ...]: repeat index then source index.
	ost := stridesOf(out)
	ist := stridesOf(in)
	b := box{}
	for k := range in {
		b.dims = append(b.dims, int(reps[k]), in[k])
		b.dst = append(b.dst, in[k]*ost[k], ost[k])
		b.src = append(b.src, 0, ist[k])
	}
	dt := c.in[0].DType
	return []ValueInfo{info(dt, out)}, one(func(_ *execCtx, x []*Tensor) (*Tensor, error) {
		y := alloc(dt, out)
		copyBox(y, x[0], b)
		return y, nil
	})
}

func prepGather(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(2, 2)
	c.dtype(1, Int64, Int32)
	a := c.attrInt("axis", 0)
	if c.err != nil {
		return nil, nil
	}
	data, ind := c.in[0].Shape, c.in[1].Shape
	if len(data) == 0 {
		c.fail(ErrShape, "cannot gather from a scalar")
		return nil, nil
	}
	ax := c.axis("axis", a, len(data))
	if c.err != nil {
		return nil, nil
	}
	out := append(append(slices.Clone(data[:ax]), ind...), data[ax+1:]...)
	c.checkShape("output", out)
	if c.err != nil {
		return nil, nil
	}
	outer, inner, d := numel(data[:ax]), numel(data[ax+1:]), data[ax]
	nidx := numel(ind)
	dt := c.in[0].DType
	return []ValueInfo{info(dt, out)}, one(func(_ *execCtx, x []*Tensor) (*Tensor, error) {
		idx, err := x[1].Ints()
		if err != nil {
			return nil, err
		}
		y := alloc(dt, out)
		for j, v := range idx {
			if v < -int64(d) || v >= int64(d) {
				return nil, errorf(ErrParams, "index %d out of range for dimension %d", v, d)
			}
			if v < 0 {
				v += int64(d)
			}
			copyBox(y, x[0], box{dims: []int{outer, inner}, dst: []int{nidx * inner, 1}, src: []int{d * inner, 1},
				doff: j * inner, soff: int(v) * inner})
		}
		return y, nil
	})
}

func prepShape(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(1, 1)
	start := c.attrInt("start", 0)
	hasEnd := c.has("end")
	end := c.attrInt("end", 0)
	if c.err != nil {
		return nil, nil
	}
	in := c.in[0].Shape
	r := int64(len(in))
	if !hasEnd {
		end = r
	}
	clampAx := func(v int64) int64 {
		if v < 0 {
			v += r
		}
		return min(max(v, 0), r)
	}
	s, e := clampAx(start), clampAx(end)
	var dims []int64
	for k := s; k < e; k++ {
		dims = append(dims, int64(in[k]))
	}
	c.foldAlways = true
	shape := []int{len(dims)}
	return []ValueInfo{info(Int64, shape)}, one(func(_ *execCtx, _ []*Tensor) (*Tensor, error) {
		return &Tensor{DType: Int64, Shape: shape, I64: slices.Clone(dims)}, nil
	})
}

func prepSize(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(1, 1)
	if c.err != nil {
		return nil, nil
	}
	n := int64(numel(c.in[0].Shape))
	c.foldAlways = true
	return []ValueInfo{info(Int64, []int{})}, one(func(_ *execCtx, _ []*Tensor) (*Tensor, error) {
		return &Tensor{DType: Int64, Shape: []int{}, I64: []int64{n}}, nil
	})
}

func prepConstantOfShape(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(1, 1)
	c.dtype(0, Int64)
	spec := c.constInts(0)
	v := scalarOf(Float32, 0)
	if a, ok := c.attr("value", AttrTensor); ok {
		if a.Tensor == nil || a.Tensor.Len() != 1 {
			c.fail(ErrParams, "value must hold one element")
		} else {
			v = elemAt(a.Tensor, 0)
		}
	}
	if c.err != nil {
		return nil, nil
	}
	if len(c.in[0].Shape) != 1 {
		c.fail(ErrShape, "shape input must be 1-D, is %v", c.in[0].Shape)
		return nil, nil
	}
	out := make([]int, len(spec))
	for i, s := range spec {
		if s < 0 || s > math.MaxInt32 {
			c.fail(ErrParams, "shape %v has an invalid dimension", spec)
			return nil, nil
		}
		out[i] = int(s)
	}
	c.checkShape("output", out)
	if c.err != nil {
		return nil, nil
	}
	return []ValueInfo{info(v.DType, out)}, one(func(_ *execCtx, _ []*Tensor) (*Tensor, error) {
		y := alloc(v.DType, out)
		fillFrom(y, v)
		return y, nil
	})
}

func prepConstant(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(0, 0)
	var t *Tensor
	set := 0
	if a, ok := c.attr("value", AttrTensor); ok {
		t = a.Tensor
		set++
	}
	if a, ok := c.attr("value_float", AttrFloat); ok {
		t = Scalar(a.Float)
		set++
	}
	if a, ok := c.attr("value_floats", AttrFloats); ok {
		t = &Tensor{DType: Float32, Shape: []int{len(a.Floats)}, F32: slices.Clone(a.Floats)}
		set++
	}
	if a, ok := c.attr("value_int", AttrInt); ok {
		t = &Tensor{DType: Int64, Shape: []int{}, I64: []int64{a.Int}}
		set++
	}
	if a, ok := c.attr("value_ints", AttrInts); ok {
		t = &Tensor{DType: Int64, Shape: []int{len(a.Ints)}, I64: slices.Clone(a.Ints)}
		set++
	}
	if c.err != nil {
		return nil, nil
	}
	if set != 1 || t == nil {
		c.fail(ErrParams, "exactly one supported value attribute is required")
		return nil, nil
	}
	if err := t.Validate(); err != nil {
		c.fail(ErrParams, "value: %v", err)
		return nil, nil
	}
	c.checkShape("value", t.Shape)
	return []ValueInfo{t.Info()}, one(func(_ *execCtx, _ []*Tensor) (*Tensor, error) { return t, nil })
}

func prepRange(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(3, 3)
	c.dtype(0, Float32, Int64, Int32)
	c.sameType(0, 1)
	c.sameType(0, 2)
	if c.err != nil {
		return nil, nil
	}
	for i := 0; i < 3; i++ {
		if len(c.in[i].Shape) != 0 {
			c.fail(ErrShape, "input %d must be a scalar, is %v", i, c.in[i].Shape)
			return nil, nil
		}
		if c.consts[i] == nil {
			c.fail(ErrUnsupported, "input %d must be a constant (the output shape depends on it)", i)
			return nil, nil
		}
	}
	dt := c.in[0].DType
	var n int64
	if dt == Float32 {
		s, l, d := c.consts[0].F32[0], c.consts[1].F32[0], c.consts[2].F32[0]
		if d == 0 || s != s || l != l || d != d {
			c.fail(ErrParams, "delta must be non-zero and values not NaN")
			return nil, nil
		}
		f := math.Ceil(float64(l-s) / float64(d))
		if f > float64(c.limit) {
			c.fail(ErrShape, "range has %g elements", f)
			return nil, nil
		}
		n = int64(max(f, 0))
	} else {
		v0, _ := c.consts[0].Ints()
		v1, _ := c.consts[1].Ints()
		v2, _ := c.consts[2].Ints()
		s, l, d := v0[0], v1[0], v2[0]
		if d == 0 {
			c.fail(ErrParams, "delta must be non-zero")
			return nil, nil
		}
		f := math.Ceil((float64(l) - float64(s)) / float64(d))
		if f > float64(c.limit) {
			c.fail(ErrShape, "range has %g elements", f)
			return nil, nil
		}
		n = int64(max(f, 0))
	}
	out := []int{int(n)}
	return []ValueInfo{info(dt, out)}, one(func(_ *execCtx, x []*Tensor) (*Tensor, error) {
		y := alloc(dt, out)
		// Each element is the previous one plus delta, as the op's
		// function body (a Loop) computes it.
		switch dt {
		case Float32:
			v, d := x[0].F32[0], x[2].F32[0]
			for i := range y.F32 {
				y.F32[i] = v
				v += d
			}
		case Int64:
			v, d := x[0].I64[0], x[2].I64[0]
			for i := range y.I64 {
				y.I64[i] = v
				v += d
			}
		case Int32:
			v, d := x[0].I32[0], x[2].I32[0]
			for i := range y.I32 {
				y.I32[i] = v
				v += d
			}
		}
		return y, nil
	})
}

// permuteBox is a transpose of input x viewed with shape view: output
// element order follows perm over the view's axes.
func permuteBox(view []int, perm []int) box {
	vst := stridesOf(view)
	dims := make([]int, len(perm))
	src := make([]int, len(perm))
	for k, p := range perm {
		dims[k] = view[p]
		src[k] = vst[p]
	}
	return box{dims: dims, dst: stridesOf(dims), src: src}
}

func prepDepthToSpace(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(1, 1)
	bs := int(c.attrInt("blocksize", 0))
	mode := c.attrString("mode", "DCR")
	c.oneOf("mode", mode, "DCR", "CRD")
	if c.err != nil {
		return nil, nil
	}
	in := c.in[0].Shape
	if len(in) != 4 || bs <= 0 || in[1]%(bs*bs) != 0 {
		c.fail(ErrShape, "input %v with blocksize %d", in, bs)
		return nil, nil
	}
	n, ch, h, w := in[0], in[1], in[2], in[3]
	cc := ch / (bs * bs)
	var b box
	if mode == "DCR" {
		b = permuteBox([]int{n, bs, bs, cc, h, w}, []int{0, 3, 4, 1, 5, 2})
	} else {
		b = permuteBox([]int{n, cc, bs, bs, h, w}, []int{0, 1, 4, 2, 5, 3})
	}
	out := []int{n, cc, h * bs, w * bs}
	dt := c.in[0].DType
	return []ValueInfo{info(dt, out)}, one(func(_ *execCtx, x []*Tensor) (*Tensor, error) {
		y := alloc(dt, out)
		copyBox(y, x[0], b)
		return y, nil
	})
}

func prepSpaceToDepth(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(1, 1)
	bs := int(c.attrInt("blocksize", 0))
	if c.err != nil {
		return nil, nil
	}
	in := c.in[0].Shape
	if len(in) != 4 || bs <= 0 || in[2]%bs != 0 || in[3]%bs != 0 {
		c.fail(ErrShape, "input %v with blocksize %d", in, bs)
		return nil, nil
	}
	n, ch, h, w := in[0], in[1], in[2], in[3]
	b := permuteBox([]int{n, ch, h / bs, bs, w / bs, bs}, []int{0, 3, 5, 1, 2, 4})
	out := []int{n, ch * bs * bs, h / bs, w / bs}
	dt := c.in[0].DType
	return []ValueInfo{info(dt, out)}, one(func(_ *execCtx, x []*Tensor) (*Tensor, error) {
		y := alloc(dt, out)
		copyBox(y, x[0], b)
		return y, nil
	})
}
