package graph

import (
	"math"
	"slices"
)

// Resize follows the ONNX reference implementation: every output
// coordinate is mapped to an input coordinate by the coordinate
// transformation mode, then interpolated with 1 (nearest), 2 (linear) or
// 4 (cubic) taps per axis from the edge-padded input. Linear and cubic are
// separable: the axes are interpolated one at a time, innermost first (the
// reference's nesting), in float64, and rounded to float32 once.

func init() {
	register(prepResize, "Resize")
}

// taps1 is the interpolation of one axis: for output j, the input indices
// idx[j*n:(j+1)*n] with weights w[j*n:(j+1)*n]; outside[j] marks outputs
// outside the crop (tf_crop_and_resize), which take extrapolation_value;
// identity: the axis maps every output to the same input.
type taps1 struct {
	n        int
	idx      []int
	w        []float64
	outside  []bool
	identity bool
}

func prepResize(c *prepCtx) ([]ValueInfo, kernel) {
	if c.opset < 11 {
		c.fail(ErrUnsupported, "Resize before opset 11")
		return nil, nil
	}
	c.nin(1, 4)
	mode := c.attrString("mode", "nearest")
	c.oneOf("mode", mode, "nearest", "linear", "cubic")
	ctm := c.attrString("coordinate_transformation_mode", "half_pixel")
	c.oneOf("coordinate_transformation_mode", ctm, "half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
		"align_corners", "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize")
	nearestMode := c.attrString("nearest_mode", "round_prefer_floor")
	c.oneOf("nearest_mode", nearestMode, "round_prefer_floor", "round_prefer_ceil", "floor", "ceil")
	A := float64(c.attrFloat("cubic_coeff_a", -0.75))
	exclude := c.attrBool("exclude_outside", false)
	extrap := c.attrFloat("extrapolation_value", 0)
	if c.attrBool("antialias", false) {
		c.fail(ErrUnsupported, "antialias=1")
	}
	policy := c.attrString("keep_aspect_ratio_policy", "stretch")
	c.oneOf("keep_aspect_ratio_policy", policy, "stretch", "not_larger", "not_smaller")
	axesAttr := c.attrInts("axes", nil)
	if mode == "nearest" {
		c.dtype(0, allTypes...)
	} else {
		c.dtype(0, Float32)
	}
	if c.err != nil {
		return nil, nil
	}
	x := c.in[0].Shape
	r := len(x)
	var axes []int
	if axesAttr != nil {
		axes = c.normAxes(axesAttr, r)
	} else {
		for k := 0; k < r; k++ {
			axes = append(axes, k)
		}
	}
	given := func(i int) bool { return c.present(i) && numel(c.in[i].Shape) > 0 }
	var scalesIn []float32
	var sizesIn []int64
	if given(2) {
		c.dtype(2, Float32)
		scalesIn = c.constFloats(2)
	}
	if given(3) {
		c.dtype(3, Int64)
		sizesIn = c.constInts(3)
	}
	if c.err != nil {
		return nil, nil
	}
	if (scalesIn == nil) == (sizesIn == nil) {
		c.fail(ErrParams, "exactly one of scales and sizes must be given")
		return nil, nil
	}
	scale := make([]float64, r)
	out := slices.Clone(x)
	for k := range scale {
		scale[k] = 1
	}
	if scalesIn != nil {
		if len(scalesIn) != len(axes) {
			c.fail(ErrParams, "scales %v for %d axes", scalesIn, len(axes))
			return nil, nil
		}
		for i, k := range axes {
			s := float64(scalesIn[i])
			if !(s > 0) || math.IsInf(s, 0) {
				c.fail(ErrParams, "scales %v must be positive", scalesIn)
				return nil, nil
			}
			o := math.Floor(s * float64(x[k]))
			if o > float64(c.limit) {
				c.fail(ErrShape, "output dimension %g too large", o)
				return nil, nil
			}
			scale[k], out[k] = s, int(o)
		}
	} else {
		if len(sizesIn) != len(axes) {
			c.fail(ErrParams, "sizes %v for %d axes", sizesIn, len(axes))
			return nil, nil
		}
		for i, k := range axes {
			if sizesIn[i] < 0 || sizesIn[i] > int64(c.limit) {
				c.fail(ErrParams, "sizes %v invalid", sizesIn)
				return nil, nil
			}
			if x[k] == 0 {
				c.fail(ErrShape, "cannot resize an empty axis")
				return nil, nil
			}
		}
		if policy == "stretch" {
			for i, k := range axes {
				out[k] = int(sizesIn[i])
				scale[k] = float64(out[k]) / float64(x[k])
			}
		} else {
			s := math.Inf(1)
			if policy == "not_smaller" {
				s = math.Inf(-1)
			}
			for i, k := range axes {
				v := float64(sizesIn[i]) / float64(x[k])
				if policy == "not_larger" {
					s = min(s, v)
				} else {
					s = max(s, v)
				}
			}
			for _, k := range axes {
				out[k] = int(math.Round(s * float64(x[k])))
				scale[k] = s
			}
		}
	}
	var roi []float32
	if ctm == "tf_crop_and_resize" {
		if !given(1) {
			c.fail(ErrParams, "tf_crop_and_resize needs roi")
			return nil, nil
		}
		c.dtype(1, Float32)
		roiIn := c.constFloats(1)
		if c.err != nil {
			return nil, nil
		}
		if len(roiIn) != 2*len(axes) {
			c.fail(ErrParams, "roi %v for %d axes", roiIn, len(axes))
			return nil, nil
		}
		roi = make([]float32, 2*r)
		for k := 0; k < r; k++ {
			roi[k], roi[k+r] = 0, 1
		}
		for i, k := range axes {
			roi[k], roi[k+r] = roiIn[i], roiIn[i+len(axes)]
		}
	}
	c.checkShape("output", out)
	if c.err != nil {
		return nil, nil
	}
	for k := range x {
		if x[k] == 0 && out[k] > 0 {
			c.fail(ErrShape, "cannot resize an empty axis")
			return nil, nil
		}
	}
	plan := make([]taps1, r)
	for k := 0; k < r; k++ {
		var rk [2]float64
		if roi != nil {
			rk = [2]float64{float64(roi[k]), float64(roi[k+r])}
		}
		plan[k] = axisTaps(x[k], out[k], scale[k], ctm, mode, nearestMode, A, exclude, rk)
	}
	dt := c.in[0].DType
	return []ValueInfo{info(dt, out)}, one(func(ec *execCtx, in []*Tensor) (*Tensor, error) {
		y := alloc(dt, out)
		if numel(out) == 0 {
			return y, nil
		}
		if mode == "nearest" {
			resizeNearest(y, in[0], plan, float64(extrap))
			return y, nil
		}
		resizeSeparable(ec, y.F32, in[0].F32, x, out, plan, float64(extrap))
		return y, nil
	})
}

// axisTaps computes the interpolation of one axis.
func axisTaps(in, out int, scale float64, ctm, mode, nearestMode string, A float64, exclude bool, roi [2]float64) taps1 {
	t := taps1{}
	switch mode {
	case "nearest":
		t.n = 1
	case "linear":
		t.n = 2
	default:
		t.n = 4
	}
	t.idx = make([]int, out*t.n)
	t.w = make([]float64, out*t.n)
	t.outside = make([]bool, out)
	outW := scale * float64(in)
	t.identity = in == out
	for j := 0; j < out; j++ {
		xr := float64(j)
		var xo float64
		switch ctm {
		case "align_corners":
			if outW == 1 {
				xo = 0
			} else {
				xo = xr * float64(in-1) / (outW - 1)
			}
		case "asymmetric":
			xo = xr / scale
		case "tf_half_pixel_for_nn":
			xo = (xr + 0.5) / scale
		case "tf_crop_and_resize":
			if outW == 1 {
				xo = (roi[1] - roi[0]) * float64(in-1) / 2
			} else {
				xo = xr * (roi[1] - roi[0]) * float64(in-1) / (outW - 1)
			}
			xo += roi[0] * float64(in-1)
			if xo < 0 || xo > float64(in-1) {
				t.outside[j] = true
				t.identity = false
			}
		case "pytorch_half_pixel":
			if outW == 1 {
				xo = -0.5
			} else {
				xo = (xr+0.5)/scale - 0.5
			}
		case "half_pixel_symmetric":
			adj := float64(out) / outW
			off := float64(in) / 2 * (1 - adj)
			xo = off + (xr+0.5)/scale - 0.5
		default: // half_pixel
			xo = (xr+0.5)/scale - 0.5
		}
		// i0 and ratio in (0, 1]: the reference prefers the left pixel.
		fl := math.Floor(xo)
		i0, ratio := int(fl), xo-fl
		if ratio == 0 {
			i0, ratio = i0-1, 1
		}
		idx := t.idx[j*t.n : (j+1)*t.n]
		w := t.w[j*t.n : (j+1)*t.n]
		switch mode {
		case "nearest":
			up := false
			switch {
			case ratio == 1:
				up = true
			case nearestMode == "round_prefer_floor":
				up = ratio > 0.5
			case nearestMode == "round_prefer_ceil":
				up = ratio >= 0.5
			case nearestMode == "ceil":
				up = true
			}
			idx[0], w[0] = i0, 1
			if up {
				idx[0] = i0 + 1
			}
		case "linear":
			idx[0], idx[1] = i0, i0+1
			w[0], w[1] = 1-ratio, ratio
		default:
			r := ratio
			w[0] = ((A*(r+1)-5*A)*(r+1)+8*A)*(r+1) - 4*A
			w[1] = ((A+2)*r-(A+3))*r*r + 1
			w[2] = ((A+2)*(1-r)-(A+3))*(1-r)*(1-r) + 1
			w[3] = ((A*((1-r)+1)-5*A)*((1-r)+1)+8*A)*((1-r)+1) - 4*A
			for q := range idx {
				idx[q] = i0 - 1 + q
			}
		}
		if exclude {
			s := 0.0
			for q := range idx {
				if idx[q] < 0 || idx[q] >= in {
					w[q] = 0
				}
				s += w[q]
			}
			for q := range w {
				w[q] /= s
			}
		}
		for q := range idx {
			idx[q] = min(max(idx[q], 0), in-1)
		}
		// identity: one effective tap at j with weight 1
		eff := 0
		for q := range idx {
			if w[q] != 0 {
				eff++
				if idx[q] != j || w[q] != 1 {
					t.identity = false
				}
			}
		}
		if eff != 1 {
			t.identity = false
		}
	}
	return t
}

func resizeNearest(y, x *Tensor, plan []taps1, extrap float64) {
	out := y.Shape
	r := len(out)
	ist := stridesOf(x.Shape)
	n := numel(out)
	idx := make([]int, n)
	pos := make([]int, r)
	var fill *Tensor
	for i := 0; i < n; i++ {
		src := 0
		for k := 0; k < r; k++ {
			p := plan[k]
			if p.outside[pos[k]] {
				src = -1
				break
			}
			src += p.idx[pos[k]] * ist[k]
		}
		idx[i] = src
		if src < 0 && fill == nil {
			fill = scalarOf(y.DType, extrap)
		}
		for k := r - 1; k >= 0; k-- {
			pos[k]++
			if pos[k] < out[k] {
				break
			}
			pos[k] = 0
		}
	}
	if fill != nil {
		fillFrom(y, fill)
	}
	take(y, x, idx)
}

// resizeSeparable interpolates axis by axis, innermost first.
func resizeSeparable(ec *execCtx, y, x []float32, in, out []int, plan []taps1, extrap float64) {
	r := len(in)
	cur := make([]float64, len(x))
	for i, v := range x {
		cur[i] = float64(v)
	}
	shape := slices.Clone(in)
	var outside []bool // per final element, set lazily
	for k := r - 1; k >= 0; k-- {
		p := plan[k]
		if p.identity {
			continue
		}
		next := slices.Clone(shape)
		next[k] = out[k]
		outer, inner := numel(shape[:k]), numel(shape[k+1:])
		dst := make([]float64, numel(next))
		din, dout := shape[k], out[k]
		ec.parallelFor(outer, func(lo, hi int) {
			for o := lo; o < hi; o++ {
				s := cur[o*din*inner:]
				d := dst[o*dout*inner:]
				for j := 0; j < dout; j++ {
					row := d[j*inner : (j+1)*inner]
					for q := 0; q < p.n; q++ {
						w := p.w[j*p.n+q]
						if w == 0 {
							continue
						}
						src := s[p.idx[j*p.n+q]*inner:]
						for i := range row {
							row[i] += w * src[i]
						}
					}
				}
			}
		})
		cur, shape = dst, next
	}
	for i, v := range cur {
		y[i] = float32(v)
	}
	// tf_crop_and_resize: outputs outside the crop on any axis.
	for k := 0; k < r; k++ {
		if slices.Contains(plan[k].outside, true) {
			if outside == nil {
				outside = make([]bool, len(y))
			}
			inner := numel(out[k+1:])
			for i := range y {
				if plan[k].outside[(i/inner)%out[k]] {
					outside[i] = true
				}
			}
		}
	}
	for i, o := range outside {
		if o {
			y[i] = float32(extrap)
		}
	}
}
