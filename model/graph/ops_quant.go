package graph

import (
	"slices"

	"github.com/qgpu/qgpu/qtensor"
)

// QuantizeLinear and DequantizeLinear, per tensor, per axis or per block
// (opset 21's block_size), with the
// scalar formulas of package qtensor (qtensor.Quantize,
// qtensor.Dequantize), so that they agree bit for bit with every qgpu
// backend.

func init() {
	register(prepQDQ, "QuantizeLinear", "DequantizeLinear")
}

func prepQDQ(c *prepCtx) ([]ValueInfo, kernel) {
	quant := c.n.OpType == "QuantizeLinear"
	c.nin(2, 3)
	if quant {
		c.dtype(0, Float32)
	} else {
		c.dtype(0, Int8, Uint8, Int32)
	}
	c.dtype(1, Float32)
	if c.present(2) {
		if quant {
			c.dtype(2, Int8, Uint8)
		} else {
			c.sameType(0, 2)
		}
	}
	a := c.attrInt("axis", 1)
	bs := c.attrInt("block_size", 0)
	if bs < 0 {
		c.fail(ErrParams, "block_size %d", bs)
	}
	if quant {
		c.attrInt("saturate", 1) // float8 targets only
	}
	outType := Uint8
	if quant && c.present(2) {
		outType = c.in[2].DType
	}
	if quant && c.has("output_dtype") {
		code := c.attrInt("output_dtype", 0)
		if code != 0 {
			d, err := DTypeFromONNX(int32(code))
			if err != nil || (d != Int8 && d != Uint8) {
				c.fail(ErrUnsupported, "output_dtype %d", code)
			} else if c.present(2) && d != outType {
				c.fail(ErrParams, "output_dtype %v differs from the zero point's %v", d, outType)
			}
			outType = d
		}
	}
	if c.err != nil {
		return nil, nil
	}
	x := c.in[0].Shape
	sshape := c.in[1].Shape
	// A one-element scale and zero point are per tensor whatever their
	// ranks (ONNX Runtime's quantizer writes a bias scale of shape [1]
	// with a zero point of shape []).
	if c.present(2) && !sameShape(c.in[2].Shape, sshape) && !(numel(sshape) == 1 && len(sshape) <= 1 && numel(c.in[2].Shape) == 1 && len(c.in[2].Shape) <= 1) {
		c.fail(ErrShape, "zero point %v and scale %v differ in shape", c.in[2].Shape, sshape)
		return nil, nil
	}
	channels, inner := 1, 1
	var blocks qtensor.Indexer // per block: the pair of element i
	switch {
	case bs > 0:
		ax := c.axis("axis", a, len(x))
		if c.err != nil {
			return nil, nil
		}
		want := slices.Clone(x)
		want[ax] = (x[ax] + int(bs) - 1) / int(bs)
		if !slices.Equal(sshape, want) {
			c.fail(ErrShape, "scale %v for blocks of %d along axis %d of %v (want %v)", sshape, bs, ax, x, want)
			return nil, nil
		}
		channels = numel(sshape)
		blocks = qtensor.Params{Granularity: qtensor.PerBlock, Axis: ax, BlockSize: int(bs)}.Indexer(x)
	case numel(sshape) == 1 && len(sshape) <= 1:
	case len(sshape) == 1:
		ax := c.axis("axis", a, len(x))
		if c.err != nil {
			return nil, nil
		}
		if sshape[0] != x[ax] {
			c.fail(ErrShape, "scale %v for axis %d of %v", sshape, ax, x)
			return nil, nil
		}
		channels, inner = x[ax], numel(x[ax+1:])
	default:
		c.fail(ErrShape, "scale %v must be a scalar or 1-D", sshape)
		return nil, nil
	}
	inType := c.in[0].DType
	if !quant {
		outType = Float32
	}
	return []ValueInfo{info(outType, x)}, one(func(_ *execCtx, in []*Tensor) (*Tensor, error) {
		scales := in[1].F32
		zps := make([]int32, channels)
		if len(in) > 2 && in[2] != nil {
			v, _ := in[2].Ints()
			for i := range zps {
				zps[i] = int32(v[i])
			}
		}
		y := alloc(outType, x)
		if quant {
			for _, s := range scales {
				if err := qtensor.CheckScale(s); err != nil {
					return nil, err
				}
			}
			qmin, qmax := int32(0), int32(255)
			if outType == Int8 {
				qmin, qmax = -128, 127
			}
			src := in[0].F32
			for i, v := range src {
				ch := (i / inner) % channels
				if bs > 0 {
					ch = blocks.Pair(i)
				}
				q := qtensor.Quantize(v, scales[ch], zps[ch], qmin, qmax)
				if outType == Int8 {
					y.I8[i] = int8(q)
				} else {
					y.U8[i] = uint8(q)
				}
			}
			return y, nil
		}
		if inType == Int32 {
			for _, z := range zps {
				if z != 0 {
					return nil, errorf(ErrParams, "int32 input with a non-zero zero point %d", z)
				}
			}
		}
		n := numel(x)
		for i := 0; i < n; i++ {
			ch := (i / inner) % channels
			if bs > 0 {
				ch = blocks.Pair(i)
			}
			var q int32
			switch inType {
			case Int8:
				q = int32(in[0].I8[i])
			case Uint8:
				q = int32(in[0].U8[i])
			case Int32:
				q = in[0].I32[i]
			}
			y.F32[i] = qtensor.Dequantize(q, zps[ch], scales[ch])
		}
		return y, nil
	})
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
