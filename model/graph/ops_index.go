package graph

import (
	"slices"
)

// Index ops: GatherElements, ScatterElements, ScatterND, Trilu, and the
// elementwise Shrink and CumSum.

func init() {
	register(prepGatherElements, "GatherElements")
	register(prepScatterElements, "ScatterElements")
	register(prepScatterND, "ScatterND")
	register(prepTrilu, "Trilu")
	register(prepShrink, "Shrink")
	register(prepCumSum, "CumSum")
}

// elemOffsets maps an index tensor's elements along axis to data offsets:
// for index element i with value v, the data offset of the same position
// with coordinate axis replaced by v.
func elemOffsets(idxShape, dataShape []int, axis int, idx []int64) ([]int, error) {
	dst := stridesOf(dataShape)
	n := numel(idxShape)
	offs := make([]int, n)
	pos := make([]int, len(idxShape))
	d := int64(dataShape[axis])
	for i := 0; i < n; i++ {
		v := idx[i]
		if v < -d || v >= d {
			return nil, errorf(ErrParams, "index %d out of range for dimension %d", v, d)
		}
		if v < 0 {
			v += d
		}
		off := 0
		for k, p := range pos {
			if k == axis {
				p = int(v)
			}
			off += p * dst[k]
		}
		offs[i] = off
		for k := len(pos) - 1; k >= 0; k-- {
			pos[k]++
			if pos[k] < idxShape[k] {
				break
			}
			pos[k] = 0
		}
	}
	return offs, nil
}

func prepGatherElements(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(2, 2)
	c.dtype(1, Int64, Int32)
	a := c.attrInt("axis", 0)
	if c.err != nil {
		return nil, nil
	}
	data, ind := c.in[0].Shape, c.in[1].Shape
	ax := c.axis("axis", a, len(data))
	if c.err == nil && len(ind) != len(data) {
		c.fail(ErrShape, "indices %v and data %v differ in rank", ind, data)
	}
	for k := range ind {
		if c.err == nil && k != ax && ind[k] > data[k] {
			c.fail(ErrShape, "indices %v exceed data %v on axis %d", ind, data, k)
		}
	}
	if c.err != nil {
		return nil, nil
	}
	dt := c.in[0].DType
	return []ValueInfo{info(dt, ind)}, one(func(_ *execCtx, x []*Tensor) (*Tensor, error) {
		idx, err := x[1].Ints()
		if err != nil {
			return nil, err
		}
		offs, err := elemOffsets(ind, data, ax, idx)
		if err != nil {
			return nil, err
		}
		y := alloc(dt, ind)
		take(y, x[0], offs)
		return y, nil
	})
}

func scatterT[T number](d, u []T, offs []int, red string) {
	for i, o := range offs {
		switch red {
		case "add":
			d[o] += u[i]
		case "mul":
			d[o] *= u[i]
		case "max":
			d[o] = max(d[o], u[i])
		case "min":
			d[o] = min(d[o], u[i])
		default:
			d[o] = u[i]
		}
	}
}

func scatter(y, upd *Tensor, offs []int, red string) {
	switch y.DType {
	case Float32:
		scatterT(y.F32, upd.F32, offs, red)
	case Int64:
		scatterT(y.I64, upd.I64, offs, red)
	case Int32:
		scatterT(y.I32, upd.I32, offs, red)
	case Int8:
		scatterT(y.I8, upd.I8, offs, red)
	case Uint8:
		scatterT(y.U8, upd.U8, offs, red)
	case Bool:
		for i, o := range offs {
			y.Bool[o] = upd.Bool[i]
		}
	}
}

func (c *prepCtx) scatterReduction() string {
	red := c.attrString("reduction", "none")
	c.oneOf("reduction", red, "none", "add", "mul", "max", "min")
	if c.err == nil && red != "none" && c.present(0) && c.in[0].DType == Bool {
		c.fail(ErrUnsupported, "reduction %s on bool", red)
	}
	return red
}

func prepScatterElements(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(3, 3)
	c.dtype(1, Int64, Int32)
	c.sameType(0, 2)
	a := c.attrInt("axis", 0)
	red := c.scatterReduction()
	if c.err != nil {
		return nil, nil
	}
	data, ind := c.in[0].Shape, c.in[1].Shape
	ax := c.axis("axis", a, len(data))
	if c.err == nil && (len(ind) != len(data) || !slices.Equal(ind, c.in[2].Shape)) {
		c.fail(ErrShape, "data %v, indices %v and updates %v", data, ind, c.in[2].Shape)
	}
	for k := range ind {
		if c.err == nil && k != ax && ind[k] > data[k] {
			c.fail(ErrShape, "indices %v exceed data %v on axis %d", ind, data, k)
		}
	}
	if c.err != nil {
		return nil, nil
	}
	dt := c.in[0].DType
	return []ValueInfo{c.in[0]}, one(func(_ *execCtx, x []*Tensor) (*Tensor, error) {
		idx, err := x[1].Ints()
		if err != nil {
			return nil, err
		}
		offs, err := elemOffsets(ind, data, ax, idx)
		if err != nil {
			return nil, err
		}
		y := x[0].Clone()
		y.DType = dt
		scatter(y, x[2], offs, red)
		return y, nil
	})
}

func prepScatterND(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(3, 3)
	c.dtype(1, Int64)
	c.sameType(0, 2)
	red := c.scatterReduction()
	if c.err != nil {
		return nil, nil
	}
	data, ind, upd := c.in[0].Shape, c.in[1].Shape, c.in[2].Shape
	if len(ind) == 0 {
		c.fail(ErrShape, "indices must have rank >= 1")
		return nil, nil
	}
	q := ind[len(ind)-1]
	if q > len(data) {
		c.fail(ErrShape, "index depth %d exceeds data rank %d", q, len(data))
		return nil, nil
	}
	wantUpd := append(slices.Clone(ind[:len(ind)-1]), data[q:]...)
	if !slices.Equal(upd, wantUpd) {
		c.fail(ErrShape, "updates %v, want %v", upd, wantUpd)
		return nil, nil
	}
	inner := numel(data[q:])
	nIdx := numel(ind[:len(ind)-1])
	dst := stridesOf(data)
	return []ValueInfo{c.in[0]}, one(func(_ *execCtx, x []*Tensor) (*Tensor, error) {
		idx := x[1].I64
		offs := make([]int, 0, nIdx*inner)
		for i := 0; i < nIdx; i++ {
			base := 0
			for k := 0; k < q; k++ {
				v, d := idx[i*q+k], int64(data[k])
				if v < -d || v >= d {
					return nil, errorf(ErrParams, "index %d out of range for dimension %d", v, d)
				}
				if v < 0 {
					v += d
				}
				base += int(v) * dst[k]
			}
			for j := 0; j < inner; j++ {
				offs = append(offs, base+j)
			}
		}
		y := x[0].Clone()
		scatter(y, x[2], offs, red)
		return y, nil
	})
}

func prepTrilu(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(1, 2)
	upper := c.attrBool("upper", true)
	k := int64(0)
	if c.present(1) {
		c.dtype(1, Int64)
		if v := c.constInts(1); c.err == nil {
			if len(v) != 1 {
				c.fail(ErrShape, "k must be a scalar")
			} else {
				k = v[0]
			}
		}
	}
	if c.err != nil {
		return nil, nil
	}
	x := c.in[0].Shape
	if len(x) < 2 {
		c.fail(ErrShape, "input %v must have rank >= 2", x)
		return nil, nil
	}
	rows, cols := x[len(x)-2], x[len(x)-1]
	n := numel(x)
	// keep[i]: element i survives; the rest become 0.
	var drop []int
	for i := 0; i < n; i++ {
		r, cc := int64((i/cols)%rows), int64(i%cols)
		if (upper && cc-r < k) || (!upper && cc-r > k) {
			drop = append(drop, i)
		}
	}
	v := c.in[0]
	return []ValueInfo{v}, one(func(_ *execCtx, in []*Tensor) (*Tensor, error) {
		y := in[0].Clone()
		zero := scalarOf(v.DType, 0)
		for _, i := range drop {
			copyBox(y, zero, box{dims: []int{1}, dst: []int{1}, src: []int{0}, doff: i})
		}
		return y, nil
	})
}

func prepShrink(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(1, 1)
	c.dtype(0, Float32)
	bias := c.attrFloat("bias", 0)
	lambd := c.attrFloat("lambd", 0.5)
	if c.err != nil {
		return nil, nil
	}
	v := c.in[0]
	return []ValueInfo{v}, one(func(_ *execCtx, in []*Tensor) (*Tensor, error) {
		y := alloc(Float32, v.Shape)
		for i, x := range in[0].F32 {
			switch {
			case x < -lambd:
				y.F32[i] = x + bias
			case x > lambd:
				y.F32[i] = x - bias
			}
		}
		return y, nil
	})
}

func cumsumT[T number](y, x []T, outer, n, inner int, excl, rev bool) {
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			var s T
			for j := 0; j < n; j++ {
				jj := j
				if rev {
					jj = n - 1 - j
				}
				p := (o*n+jj)*inner + i
				if excl {
					y[p] = s
					s += x[p]
				} else {
					s += x[p]
					y[p] = s
				}
			}
		}
	}
}

func prepCumSum(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(2, 2)
	c.dtype(0, Float32, Int64, Int32)
	c.dtype(1, Int64, Int32)
	excl := c.attrBool("exclusive", false)
	rev := c.attrBool("reverse", false)
	av := c.constInts(1)
	if c.err != nil {
		return nil, nil
	}
	x := c.in[0].Shape
	if len(av) != 1 {
		c.fail(ErrShape, "axis must be a scalar")
		return nil, nil
	}
	ax := c.axis("axis", av[0], len(x))
	if c.err != nil {
		return nil, nil
	}
	outer, n, inner := numel(x[:ax]), x[ax], numel(x[ax+1:])
	v := c.in[0]
	return []ValueInfo{v}, one(func(_ *execCtx, in []*Tensor) (*Tensor, error) {
		y := alloc(v.DType, x)
		switch v.DType {
		case Float32:
			cumsumT(y.F32, in[0].F32, outer, n, inner, excl, rev)
		case Int64:
			cumsumT(y.I64, in[0].I64, outer, n, inner, excl, rev)
		case Int32:
			cumsumT(y.I32, in[0].I32, outer, n, inner, excl, rev)
		}
		return y, nil
	})
}
