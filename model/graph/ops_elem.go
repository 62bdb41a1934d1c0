package graph

import (
	"math"
	"slices"
)

// Elementwise ops. Transcendental functions are evaluated in float64 and
// rounded once to float32.

func init() {
	for name := range unaryFloat {
		register(prepUnaryFloat, name)
	}
	register(prepNumUnary, "Neg", "Abs", "Sign")
	register(prepBinary, "Add", "Sub", "Mul", "Div", "Pow", "PRelu", "Mod",
		"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor")
	register(prepVariadic, "Max", "Min", "Sum", "Mean")
	register(prepWhere, "Where")
	register(prepClip, "Clip")
	register(prepCast, "Cast", "CastLike")
	register(prepNot, "Not")
	register(prepIsNaN, "IsNaN")
	register(prepIsInf, "IsInf")
}

type number interface {
	~float32 | ~float64 | ~int64 | ~int32 | ~int8 | ~uint8
}

type integer interface {
	~int64 | ~int32 | ~int8 | ~uint8
}

// f64 evaluates a float64 function and rounds the result to float32.
func f64(f func(float64) float64) func(float32) float32 {
	return func(x float32) float32 { return float32(f(float64(x))) }
}

// unaryFloat maps float-only unary ops to a constructor of their scalar
// function, which may read attributes.
var unaryFloat = map[string]func(c *prepCtx) func(float32) float32{
	"Relu": func(c *prepCtx) func(float32) float32 {
		return func(x float32) float32 {
			if x < 0 {
				return 0
			}
			return x
		}
	},
	"LeakyRelu": func(c *prepCtx) func(float32) float32 {
		a := c.attrFloat("alpha", 0.01)
		return func(x float32) float32 {
			if x < 0 {
				return a * x
			}
			return x
		}
	},
	"Sigmoid": func(c *prepCtx) func(float32) float32 {
		return f64(func(x float64) float64 { return 1 / (1 + math.Exp(-x)) })
	},
	"Tanh": func(c *prepCtx) func(float32) float32 { return f64(math.Tanh) },
	"HardSigmoid": func(c *prepCtx) func(float32) float32 {
		a, b := float64(c.attrFloat("alpha", 0.2)), float64(c.attrFloat("beta", 0.5))
		return f64(func(x float64) float64 { return max(0, min(1, a*x+b)) })
	},
	"HardSwish": func(c *prepCtx) func(float32) float32 {
		return f64(func(x float64) float64 { return x * max(0, min(1, x/6+0.5)) })
	},
	"Erf": func(c *prepCtx) func(float32) float32 { return f64(math.Erf) },
	"Gelu": func(c *prepCtx) func(float32) float32 {
		approx := c.attrString("approximate", "none")
		c.oneOf("approximate", approx, "none", "tanh")
		if approx == "tanh" {
			k := math.Sqrt(2 / math.Pi)
			return f64(func(x float64) float64 { return 0.5 * x * (1 + math.Tanh(k*(x+0.044715*x*x*x))) })
		}
		return f64(func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) })
	},
	"Exp":   func(c *prepCtx) func(float32) float32 { return f64(math.Exp) },
	"Log":   func(c *prepCtx) func(float32) float32 { return f64(math.Log) },
	"Sqrt":  func(c *prepCtx) func(float32) float32 { return f64(math.Sqrt) },
	"Floor": func(c *prepCtx) func(float32) float32 { return f64(math.Floor) },
	"Ceil":  func(c *prepCtx) func(float32) float32 { return f64(math.Ceil) },
	"Round": func(c *prepCtx) func(float32) float32 { return f64(math.RoundToEven) },
	"Reciprocal": func(c *prepCtx) func(float32) float32 {
		return func(x float32) float32 { return 1 / x }
	},
	"Sin":   func(c *prepCtx) func(float32) float32 { return f64(math.Sin) },
	"Cos":   func(c *prepCtx) func(float32) float32 { return f64(math.Cos) },
	"Tan":   func(c *prepCtx) func(float32) float32 { return f64(math.Tan) },
	"Asin":  func(c *prepCtx) func(float32) float32 { return f64(math.Asin) },
	"Acos":  func(c *prepCtx) func(float32) float32 { return f64(math.Acos) },
	"Atan":  func(c *prepCtx) func(float32) float32 { return f64(math.Atan) },
	"Sinh":  func(c *prepCtx) func(float32) float32 { return f64(math.Sinh) },
	"Cosh":  func(c *prepCtx) func(float32) float32 { return f64(math.Cosh) },
	"Asinh": func(c *prepCtx) func(float32) float32 { return f64(math.Asinh) },
	"Acosh": func(c *prepCtx) func(float32) float32 { return f64(math.Acosh) },
	"Atanh": func(c *prepCtx) func(float32) float32 { return f64(math.Atanh) },
	"Elu": func(c *prepCtx) func(float32) float32 {
		a := float64(c.attrFloat("alpha", 1))
		return f64(func(x float64) float64 {
			if x < 0 {
				return a * (math.Exp(x) - 1)
			}
			return x
		})
	},
	"Celu": func(c *prepCtx) func(float32) float32 {
		a := float64(c.attrFloat("alpha", 1))
		if a == 0 {
			c.fail(ErrParams, "alpha must not be 0")
		}
		return f64(func(x float64) float64 { return max(0, x) + min(0, a*(math.Exp(x/a)-1)) })
	},
	"Selu": func(c *prepCtx) func(float32) float32 {
		a := float64(c.attrFloat("alpha", 1.67326319217681884765625))
		g := float64(c.attrFloat("gamma", 1.05070102214813232421875))
		return f64(func(x float64) float64 {
			if x <= 0 {
				return g * (a*math.Exp(x) - a)
			}
			return g * x
		})
	},
	"ThresholdedRelu": func(c *prepCtx) func(float32) float32 {
		a := c.attrFloat("alpha", 1)
		return func(x float32) float32 {
			if x > a {
				return x
			}
			return 0
		}
	},
	"Softplus": func(c *prepCtx) func(float32) float32 {
		return f64(func(x float64) float64 {
			if x > 30 {
				return x
			}
			return math.Log1p(math.Exp(x))
		})
	},
	"Softsign": func(c *prepCtx) func(float32) float32 {
		return f64(func(x float64) float64 { return x / (1 + math.Abs(x)) })
	},
}

func prepUnaryFloat(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(1, 1)
	c.dtype(0, Float32)
	f := unaryFloat[c.n.OpType](c)
	if c.err != nil {
		return nil, nil
	}
	shape := c.in[0].Shape
	relu := c.n.OpType == "Relu"
	return []ValueInfo{info(Float32, shape)}, one(func(ec *execCtx, x []*Tensor) (*Tensor, error) {
		y := alloc(Float32, shape)
		src := x[0].F32
		parChunks(ec, len(src), func(lo, hi int) {
			if relu {
				for i := lo; i < hi; i++ {
					y.F32[i] = max(src[i], 0)
					if src[i] != src[i] {
						y.F32[i] = src[i]
					}
				}
				return
			}
			for i := lo; i < hi; i++ {
				y.F32[i] = f(src[i])
			}
		})
		return y, nil
	})
}

// parChunks runs f over [0, n) in chunks, in parallel for large n.
func parChunks(ec *execCtx, n int, f func(lo, hi int)) {
	if n < 1<<15 {
		f(0, n)
		return
	}
	const chunk = 1 << 14
	ec.parallelFor((n+chunk-1)/chunk, func(lo, hi int) { f(lo*chunk, min(hi*chunk, n)) })
}

func mapT[T any](d, s []T, f func(T) T) {
	for i, v := range s {
		d[i] = f(v)
	}
}

func negT[T number](x T) T { return -x }
func absT[T number](x T) T {
	if x < 0 {
		return -x
	}
	return x
}
func signT[T number](x T) T {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return T(0) - 1
	}
	return x // 0 (and NaN for floats)
}

func unaryNum[T number](d, s []T, op string) {
	switch op {
	case "Neg":
		mapT(d, s, negT[T])
	case "Abs":
		mapT(d, s, absT[T])
	case "Sign":
		mapT(d, s, signT[T])
	}
}

func prepNumUnary(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(1, 1)
	c.dtype(0, Float32, Int64, Int32, Int8, Uint8)
	if c.err != nil {
		return nil, nil
	}
	v := c.in[0]
	op := c.n.OpType
	if op == "Neg" && v.DType == Uint8 {
		c.fail(ErrUnsupported, "Neg of uint8")
		return nil, nil
	}
	return []ValueInfo{v}, one(func(_ *execCtx, x []*Tensor) (*Tensor, error) {
		y := alloc(v.DType, v.Shape)
		switch v.DType {
		case Float32:
			unaryNum(y.F32, x[0].F32, op)
		case Int64:
			unaryNum(y.I64, x[0].I64, op)
		case Int32:
			unaryNum(y.I32, x[0].I32, op)
		case Int8:
			unaryNum(y.I8, x[0].I8, op)
		case Uint8:
			unaryNum(y.U8, x[0].U8, op)
		}
		return y, nil
	})
}

// binary op scalar functions

func addT[T number](a, b T) T       { return a + b }
func subT[T number](a, b T) T       { return a - b }
func mulT[T number](a, b T) T       { return a * b }
func divF(a, b float32) float32     { return a / b }
func eqT[T comparable](a, b T) bool { return a == b }
func ltT[T number](a, b T) bool     { return a < b }
func gtT[T number](a, b T) bool     { return a > b }
func leT[T number](a, b T) bool     { return a <= b }
func geT[T number](a, b T) bool     { return a >= b }
func maxT[T number](a, b T) T {
	if a != a || b != b {
		if a != a {
			return a
		}
		return b
	}
	return max(a, b)
}
func minT[T number](a, b T) T {
	if a != a || b != b {
		if a != a {
			return a
		}
		return b
	}
	return min(a, b)
}

// intDiv divides truncating toward zero; a zero divisor is reported
// through *bad.
func intDiv[T integer](bad *bool) func(a, b T) T {
	return func(a, b T) T {
		if b == 0 {
			*bad = true
			return 0
		}
		return a / b
	}
}

// intMod is ONNX Mod for integers: with fmod=0 the result has the sign
// of the divisor (Python's %), with fmod=1 the sign of the dividend (C).
func intMod[T integer](fmod bool, bad *bool) func(a, b T) T {
	return func(a, b T) T {
		if b == 0 {
			*bad = true
			return 0
		}
		r := a % b
		if !fmod && r != 0 && (r < 0) != (b < 0) {
			r += b
		}
		return r
	}
}

// numBinary runs the arithmetic ops on one numeric type.
func numBinary[T number](ec *execCtx, bc *bcast, op string, fmod bool, y, a, b []T) error {
	switch op {
	case "Add", "Sum":
		binary(ec, bc, y, a, b, addT[T])
	case "Sub":
		binary(ec, bc, y, a, b, subT[T])
	case "Mul":
		binary(ec, bc, y, a, b, mulT[T])
	case "Max":
		binary(ec, bc, y, a, b, maxT[T])
	case "Min":
		binary(ec, bc, y, a, b, minT[T])
	default:
		return errorf(ErrUnsupported, "%s", op)
	}
	return nil
}

func intBinary[T integer](ec *execCtx, bc *bcast, op string, fmod bool, y, a, b []T) error {
	bad := false
	switch op {
	case "Div":
		binary(ec, bc, y, a, b, intDiv[T](&bad))
	case "Mod":
		binary(ec, bc, y, a, b, intMod[T](fmod, &bad))
	default:
		return numBinary(ec, bc, op, fmod, y, a, b)
	}
	if bad {
		return errorf(ErrParams, "integer division by zero")
	}
	return nil
}

func cmpBinary[T number](ec *execCtx, bc *bcast, op string, y []bool, a, b []T) {
	switch op {
	case "Equal":
		binary(ec, bc, y, a, b, eqT[T])
	case "Less":
		binary(ec, bc, y, a, b, ltT[T])
	case "Greater":
		binary(ec, bc, y, a, b, gtT[T])
	case "LessOrEqual":
		binary(ec, bc, y, a, b, leT[T])
	case "GreaterOrEqual":
		binary(ec, bc, y, a, b, geT[T])
	}
}

func isCompare(op string) bool {
	switch op {
	case "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual":
		return true
	}
	return false
}

// evalBinary computes a binary op into a new tensor of shape out.
func evalBinary(ec *execCtx, op string, fmod bool, a, b *Tensor, out []int, bc *bcast) (*Tensor, error) {
	dt := a.DType
	switch {
	case isCompare(op):
		y := alloc(Bool, out)
		switch dt {
		case Float32:
			cmpBinary(ec, bc, op, y.Bool, a.F32, b.F32)
		case Int64:
			cmpBinary(ec, bc, op, y.Bool, a.I64, b.I64)
		case Int32:
			cmpBinary(ec, bc, op, y.Bool, a.I32, b.I32)
		case Int8:
			cmpBinary(ec, bc, op, y.Bool, a.I8, b.I8)
		case Uint8:
			cmpBinary(ec, bc, op, y.Bool, a.U8, b.U8)
		case Bool:
			binary(ec, bc, y.Bool, a.Bool, b.Bool, eqT[bool])
		}
		return y, nil
	case op == "And" || op == "Or" || op == "Xor":
		y := alloc(Bool, out)
		switch op {
		case "And":
			binary(ec, bc, y.Bool, a.Bool, b.Bool, func(p, q bool) bool { return p && q })
		case "Or":
			binary(ec, bc, y.Bool, a.Bool, b.Bool, func(p, q bool) bool { return p || q })
		case "Xor":
			binary(ec, bc, y.Bool, a.Bool, b.Bool, func(p, q bool) bool { return p != q })
		}
		return y, nil
	}
	y := alloc(dt, out)
	var err error
	switch dt {
	case Float32:
		switch op {
		case "Div":
			binary(ec, bc, y.F32, a.F32, b.F32, divF)
		case "Pow":
			binary(ec, bc, y.F32, a.F32, b.F32, func(p, q float32) float32 { return float32(math.Pow(float64(p), float64(q))) })
		case "PRelu":
			binary(ec, bc, y.F32, a.F32, b.F32, func(x, s float32) float32 {
				if x < 0 {
					return s * x
				}
				return x
			})
		case "Mod":
			binary(ec, bc, y.F32, a.F32, b.F32, func(p, q float32) float32 { return float32(math.Mod(float64(p), float64(q))) })
		default:
			err = numBinary(ec, bc, op, fmod, y.F32, a.F32, b.F32)
		}
	case Int64:
		err = intBinary(ec, bc, op, fmod, y.I64, a.I64, b.I64)
	case Int32:
		err = intBinary(ec, bc, op, fmod, y.I32, a.I32, b.I32)
	case Int8:
		err = intBinary(ec, bc, op, fmod, y.I8, a.I8, b.I8)
	case Uint8:
		err = intBinary(ec, bc, op, fmod, y.U8, a.U8, b.U8)
	default:
		err = errorf(ErrUnsupported, "%s on %v", op, dt)
	}
	if err != nil {
		return nil, err
	}
	return y, nil
}

func prepBinary(c *prepCtx) ([]ValueInfo, kernel) {
	op := c.n.OpType
	c.nin(2, 2)
	if c.opset < 7 {
		c.attrInt("broadcast", 0)
		if c.has("axis") {
			c.fail(ErrUnsupported, "legacy broadcast axis")
		}
	}
	fmod := false
	switch {
	case op == "Mod":
		fmod = c.attrBool("fmod", false)
		c.dtype(0, Float32, Int64, Int32, Int8, Uint8)
		if c.err == nil && c.in[0].DType == Float32 && !fmod {
			c.fail(ErrParams, "Mod of floats needs fmod=1")
		}
	case op == "Pow":
		c.dtype(0, Float32, Int64, Int32)
		c.dtype(1, Float32, Int64, Int32)
	case op == "PRelu":
		c.dtype(0, Float32)
	case op == "Equal":
		c.dtype(0, allTypes...)
	case isCompare(op) || op == "Add" || op == "Sub" || op == "Mul" || op == "Div":
		c.dtype(0, Float32, Int64, Int32, Int8, Uint8)
	default: // And, Or, Xor
		c.dtype(0, Bool)
	}
	if op != "Pow" {
		c.sameType(0, 1)
	}
	if c.err != nil {
		return nil, nil
	}
	a, b := c.in[0], c.in[1]
	var out []int
	var ok bool
	if op == "PRelu" && c.opset < 7 && len(b.Shape) == 1 && len(a.Shape) >= 2 && b.Shape[0] == a.Shape[1] && b.Shape[0] != 1 {
		// Before opset 7 a 1-D slope is per channel (axis 1).
		bs := make([]int, len(a.Shape)-1)
		for i := range bs {
			bs[i] = 1
		}
		bs[0] = b.Shape[0]
		b = info(b.DType, bs)
	}
	if op == "PRelu" {
		out = a.Shape
		if o, k := broadcastShape(a.Shape, b.Shape); k && slices.Equal(o, a.Shape) {
			ok = true
		}
	} else {
		out, ok = broadcastShape(a.Shape, b.Shape)
	}
	if !ok {
		c.fail(ErrShape, "shapes %v and %v do not broadcast", a.Shape, b.Shape)
		return nil, nil
	}
	c.checkShape("output", out)
	if c.err != nil {
		return nil, nil
	}
	dt := a.DType
	if isCompare(op) || op == "And" || op == "Or" || op == "Xor" {
		dt = Bool
	}
	bc := makeBcast(out, a.Shape, b.Shape)
	if op == "Pow" && dt != Float32 {
		// Integer bases: pow in float64, converted back (numpy's
		// power for mixed types, then a cast).
		return []ValueInfo{info(dt, out)}, one(func(ec *execCtx, x []*Tensor) (*Tensor, error) {
			y := alloc(dt, out)
			pf, qf := x[0].Float64s(), x[1].Float64s()
			r := make([]float64, numel(out))
			binary(ec, bc, r, pf, qf, math.Pow)
			switch dt {
			case Int64:
				castNum(y.I64, r)
			case Int32:
				castNum(y.I32, r)
			}
			return y, nil
		})
	}
	castExp := op == "Pow" && b.DType != Float32
	return []ValueInfo{info(dt, out)}, one(func(ec *execCtx, x []*Tensor) (*Tensor, error) {
		p, q := x[0], x[1]
		if castExp {
			q = castTensor(q, Float32)
		}
		return evalBinary(ec, op, fmod, p, q, out, bc)
	})
}

func prepVariadic(c *prepCtx) ([]ValueInfo, kernel) {
	op := c.n.OpType
	if len(c.in) == 0 {
		c.fail(ErrParams, "takes at least one input")
		return nil, nil
	}
	c.nin(len(c.in), len(c.in))
	if op == "Mean" {
		c.dtype(0, Float32)
	} else {
		c.dtype(0, Float32, Int64, Int32, Int8, Uint8)
	}
	out := c.in[0].Shape
	for i := range c.in {
		c.sameType(0, i)
		var ok bool
		if out, ok = broadcastShape(out, c.in[i].Shape); !ok {
			c.fail(ErrShape, "input shapes do not broadcast")
		}
	}
	c.checkShape("output", out)
	if c.err != nil {
		return nil, nil
	}
	dt := c.in[0].DType
	ins := slices.Clone(c.in)
	// Partial results take the broadcast of the inputs so far; each step
	// broadcasts that to out.
	return []ValueInfo{info(dt, out)}, one(func(ec *execCtx, x []*Tensor) (*Tensor, error) {
		acc := x[0]
		binop := op
		if op == "Mean" {
			binop = "Sum"
		}
		if len(x) == 1 || !slices.Equal(acc.Shape, out) {
			// start from input 0 broadcast to the output shape
			y := alloc(dt, out)
			copyBox(y, acc, box{dims: out, dst: stridesOf(out), src: bstrides(acc.Shape, out)})
			acc = y
		}
		for i := 1; i < len(x); i++ {
			bc := makeBcast(out, out, ins[i].Shape)
			var err error
			acc, err = evalBinary(ec, binop, false, acc, x[i], out, bc)
			if err != nil {
				return nil, err
			}
		}
		if op == "Mean" {
			n := float32(len(x))
			if len(x) == 1 {
				return acc, nil
			}
			for i := range acc.F32 {
				acc.F32[i] /= n
			}
		}
		return acc, nil
	})
}

func prepWhere(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(3, 3)
	c.dtype(0, Bool)
	c.sameType(1, 2)
	if c.err != nil {
		return nil, nil
	}
	out, ok := broadcastShape(c.in[0].Shape, c.in[1].Shape)
	if ok {
		out, ok = broadcastShape(out, c.in[2].Shape)
	}
	if !ok {
		c.fail(ErrShape, "shapes %v, %v, %v do not broadcast", c.in[0].Shape, c.in[1].Shape, c.in[2].Shape)
		return nil, nil
	}
	c.checkShape("output", out)
	if c.err != nil {
		return nil, nil
	}
	dt := c.in[1].DType
	bc := makeBcast(out, c.in[0].Shape, c.in[1].Shape, c.in[2].Shape)
	return []ValueInfo{info(dt, out)}, one(func(ec *execCtx, x []*Tensor) (*Tensor, error) {
		y := alloc(dt, out)
		cond := x[0].Bool
		switch dt {
		case Float32:
			ternary(ec, bc, y.F32, cond, x[1].F32, x[2].F32, where[float32])
		case Int64:
			ternary(ec, bc, y.I64, cond, x[1].I64, x[2].I64, where[int64])
		case Int32:
			ternary(ec, bc, y.I32, cond, x[1].I32, x[2].I32, where[int32])
		case Int8:
			ternary(ec, bc, y.I8, cond, x[1].I8, x[2].I8, where[int8])
		case Uint8:
			ternary(ec, bc, y.U8, cond, x[1].U8, x[2].U8, where[uint8])
		case Bool:
			ternary(ec, bc, y.Bool, cond, x[1].Bool, x[2].Bool, where[bool])
		}
		return y, nil
	})
}

func where[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}

func clipT[T number](d, s []T, lo, hi T) {
	for i, v := range s {
		if v < lo {
			v = lo
		}
		if v > hi {
			v = hi
		}
		d[i] = v
	}
}

func prepClip(c *prepCtx) ([]ValueInfo, kernel) {
	var lo, hi float32 = -math.MaxFloat32, math.MaxFloat32
	if c.opset < 11 {
		c.nin(1, 1)
		c.dtype(0, Float32)
		lo = c.attrFloat("min", lo)
		hi = c.attrFloat("max", hi)
	} else {
		c.nin(1, 3)
		c.dtype(0, Float32, Int64, Int32, Int8, Uint8)
		for i := 1; i < len(c.in); i++ {
			c.sameType(0, i)
			if c.present(i) && len(c.in[i].Shape) != 0 && numel(c.in[i].Shape) != 1 {
				c.fail(ErrShape, "input %d must be a scalar", i)
			}
		}
	}
	if c.err != nil {
		return nil, nil
	}
	v := c.in[0]
	return []ValueInfo{v}, one(func(_ *execCtx, x []*Tensor) (*Tensor, error) {
		y := alloc(v.DType, v.Shape)
		var mn, mx *Tensor
		if len(x) > 1 {
			mn = x[1]
		}
		if len(x) > 2 {
			mx = x[2]
		}
		switch v.DType {
		case Float32:
			l, h := lo, hi
			if mn != nil {
				l = mn.F32[0]
			}
			if mx != nil {
				h = mx.F32[0]
			}
			clipT(y.F32, x[0].F32, l, h)
		case Int64:
			clipT(y.I64, x[0].I64, boundOr(mn, math.MinInt64, func(t *Tensor) int64 { return t.I64[0] }), boundOr(mx, math.MaxInt64, func(t *Tensor) int64 { return t.I64[0] }))
		case Int32:
			clipT(y.I32, x[0].I32, boundOr(mn, math.MinInt32, func(t *Tensor) int32 { return t.I32[0] }), boundOr(mx, math.MaxInt32, func(t *Tensor) int32 { return t.I32[0] }))
		case Int8:
			clipT(y.I8, x[0].I8, boundOr(mn, math.MinInt8, func(t *Tensor) int8 { return t.I8[0] }), boundOr(mx, math.MaxInt8, func(t *Tensor) int8 { return t.I8[0] }))
		case Uint8:
			clipT(y.U8, x[0].U8, boundOr(mn, 0, func(t *Tensor) uint8 { return t.U8[0] }), boundOr(mx, math.MaxUint8, func(t *Tensor) uint8 { return t.U8[0] }))
		}
		return y, nil
	})
}

func boundOr[T any](t *Tensor, def T, get func(*Tensor) T) T {
	if t == nil {
		return def
	}
	return get(t)
}

func castNum[S, D number](d []D, s []S) {
	for i, v := range s {
		d[i] = D(v)
	}
}

func castFromBool[D number](d []D, s []bool) {
	for i, v := range s {
		if v {
			d[i] = 1
		}
	}
}

func castToBool[S number](d []bool, s []S) {
	for i, v := range s {
		d[i] = v != 0
	}
}

func castTo[D number](d []D, s *Tensor) {
	switch s.DType {
	case Float32:
		castNum(d, s.F32)
	case Int64:
		castNum(d, s.I64)
	case Int32:
		castNum(d, s.I32)
	case Int8:
		castNum(d, s.I8)
	case Uint8:
		castNum(d, s.U8)
	case Bool:
		castFromBool(d, s.Bool)
	}
}

// castTensor converts t to dtype to (C conversions: floats truncate toward
// zero, integers wrap, non-zero is true).
func castTensor(t *Tensor, to DType) *Tensor {
	if t.DType == to {
		return t
	}
	y := alloc(to, t.Shape)
	switch to {
	case Float32:
		castTo(y.F32, t)
	case Int64:
		castTo(y.I64, t)
	case Int32:
		castTo(y.I32, t)
	case Int8:
		castTo(y.I8, t)
	case Uint8:
		castTo(y.U8, t)
	case Bool:
		switch t.DType {
		case Float32:
			castToBool(y.Bool, t.F32)
		case Int64:
			castToBool(y.Bool, t.I64)
		case Int32:
			castToBool(y.Bool, t.I32)
		case Int8:
			castToBool(y.Bool, t.I8)
		case Uint8:
			castToBool(y.Bool, t.U8)
		}
	}
	return y
}

func prepCast(c *prepCtx) ([]ValueInfo, kernel) {
	var to DType
	if c.n.OpType == "CastLike" {
		c.nin(2, 2)
		if c.err != nil {
			return nil, nil
		}
		to = c.in[1].DType
	} else {
		c.nin(1, 1)
		if !c.has("to") {
			c.fail(ErrParams, "attribute to is required")
		}
		code := c.attrInt("to", 0)
		if c.err != nil {
			return nil, nil
		}
		d, err := DTypeFromONNX(int32(code))
		if err != nil {
			c.fail(ErrUnsupported, "cast to %s", onnxTypeName(int32(code)))
			return nil, nil
		}
		to = d
	}
	c.attrInt("saturate", 1) // float8 targets only
	if c.err != nil {
		return nil, nil
	}
	shape := c.in[0].Shape
	return []ValueInfo{info(to, shape)}, one(func(_ *execCtx, x []*Tensor) (*Tensor, error) {
		return castTensor(x[0], to), nil
	})
}

func prepNot(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(1, 1)
	c.dtype(0, Bool)
	if c.err != nil {
		return nil, nil
	}
	shape := c.in[0].Shape
	return []ValueInfo{info(Bool, shape)}, one(func(_ *execCtx, x []*Tensor) (*Tensor, error) {
		y := alloc(Bool, shape)
		for i, v := range x[0].Bool {
			y.Bool[i] = !v
		}
		return y, nil
	})
}

func prepIsNaN(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(1, 1)
	c.dtype(0, Float32)
	if c.err != nil {
		return nil, nil
	}
	shape := c.in[0].Shape
	return []ValueInfo{info(Bool, shape)}, one(func(_ *execCtx, x []*Tensor) (*Tensor, error) {
		y := alloc(Bool, shape)
		for i, v := range x[0].F32 {
			y.Bool[i] = v != v
		}
		return y, nil
	})
}

func prepIsInf(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(1, 1)
	c.dtype(0, Float32)
	pos := c.attrBool("detect_positive", true)
	neg := c.attrBool("detect_negative", true)
	if c.err != nil {
		return nil, nil
	}
	shape := c.in[0].Shape
	return []ValueInfo{info(Bool, shape)}, one(func(_ *execCtx, x []*Tensor) (*Tensor, error) {
		y := alloc(Bool, shape)
		for i, v := range x[0].F32 {
			y.Bool[i] = (pos && math.IsInf(float64(v), 1)) || (neg && math.IsInf(float64(v), -1))
		}
		return y, nil
	})
}
