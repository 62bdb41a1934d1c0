package qtensor

import "fmt"

// ByteValue returns the value of an 8-bit element of type d (Int8 or
// Uint8) stored as the byte b: b itself for Uint8, b read as two's
// complement for Int8.
func ByteValue(d DType, b byte) int32 {
	if d == Int8 {
		return int32(int8(b))
	}
	return int32(b)
}

// ActivationTable returns the 256-entry table of the unary function f on
// 8-bit quantized data, as the engine's Lookup op applies it (the table
// form of Caffe2's dnnlowp and ONNX Runtime's QLinearSigmoid): for every
// byte b of an input of type in with the pair (sx, zx),
//
//	table[b] = byte(Quantize(f(Dequantize(ByteValue(in, b), zx, sx)), sy, zy))
//
// into the output type out with the pair (sy, zy). f is evaluated once
// per table entry on the host, so every backend's lookup gives the same
// bytes whatever f's float arithmetic. in and out must be Int8 or Uint8
// and the pairs valid for them.
func ActivationTable(in DType, sx float32, zx int32, out DType, sy float32, zy int32, f func(float32) float32) ([256]byte, error) {
	var t [256]byte
	for _, c := range []struct {
		d     DType
		scale float32
		zp    int32
	}{{in, sx, zx}, {out, sy, zy}} {
		if c.d != Int8 && c.d != Uint8 {
			return t, fmt.Errorf("%w: table of %v data: want int8 or uint8", ErrParams, c.d)
		}
		if err := TensorParams(c.scale, c.zp).Validate(c.d, []int{1}); err != nil {
			return t, err
		}
	}
	for b := range 256 {
		x := Dequantize(ByteValue(in, byte(b)), zx, sx)
		t[b] = byte(Quantize(f(x), sy, zy, out.QMin(), out.QMax()))
	}
	return t, nil
}

// RequantizeTable is ActivationTable of the identity: the table that moves
// 8-bit data of type d from the pair (sx, zx) to (sy, zy), as ONNX
// Runtime's QLinearConcat does (dequantize, then quantize).
func RequantizeTable(d DType, sx float32, zx int32, sy float32, zy int32) ([256]byte, error) {
	return ActivationTable(d, sx, zx, d, sy, zy, func(x float32) float32 { return x })
}
