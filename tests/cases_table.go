package tests

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// lookupCases: Lookup of int8 and uint8 data through tables of a few
// activations (and one random table, which exercises every byte), into
// both output types, over the suite's sizes and a 4-D shape.
func lookupCases(l *caseList, def *rand.Rand) {
	fns := []struct {
		name string
		f    func(float32) float32
	}{
		{"sigmoid", func(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }},
		{"hardswish", func(x float32) float32 { return x * min(max(x+3, 0), 6) / 6 }},
		{"random", nil},
	}
	for _, in := range byteTypes {
		for _, out := range byteTypes {
			for _, fn := range fns {
				sx, zx := randScale(def), randZP(def, in)
				sy, zy := randScale(def), randZP(def, out)
				if fn.f != nil {
					// The output pair spans f over the input's range, so
					// the table uses most output values.
					lo, hi := float32(0), float32(0)
					for q := in.QMin(); q <= in.QMax(); q++ {
						v := fn.f(qtensor.Dequantize(q, zx, sx))
						lo, hi = min(lo, v), max(hi, v)
					}
					sy = max((hi-lo)/float32(out.QMax()-out.QMin()), qtensor.MinScale)
					zy = min(max(out.QMin()-int32(math.Round(float64(lo/sy))), out.QMin()), out.QMax())
				}
				var tab [256]byte
				if fn.f == nil {
					for i := range tab {
						tab[i] = byte(def.IntN(256))
					}
				} else {
					t, err := qtensor.ActivationTable(in, sx, zx, out, sy, zy, fn.f)
					if err != nil {
						panic(err)
					}
					tab = t
				}
				add := func(name string, shape []int) {
					l.add(Case{Op: "Lookup", Name: fmt.Sprintf("%s_%s_%s_%s", short(in), short(out), fn.name, name),
						Inputs: inputs(func(r *rand.Rand) *qtensor.Tensor { return randQ(r, in, shape, qtensor.TensorParams(sx, zx)) }),
						Build: one(func(b *engine.Batch, x []*engine.Tensor) (*engine.Tensor, error) {
							return b.Lookup(x[0], &tab, out, sy, zy)
						})})
				}
				for _, n := range []int{1, 3, 4, 5, 17, 64, 257} {
					add(fmt.Sprint(n), []int{n})
				}
				add("2x3x5x7", []int{2, 3, 5, 7})
			}
		}
	}
}

// concatCases: Concat of 1 to 4 inputs along every axis of 1-D to 4-D
// shapes whose row lengths are not multiples of 4 (so inputs meet inside
// output words), with inputs that share the output's params (copied) and
// inputs that do not (requantized).
func concatCases(l *caseList, def *rand.Rand) {
	for _, d := range byteTypes {
		for _, c := range []struct {
			name  string
			base  []int
			axis  int
			sizes []int // the inputs' lengths along axis
		}{
			{"1d", []int{0}, 0, []int{3, 1, 5}},
			{"1d_one", []int{0}, 0, []int{7}},
			{"2d_ax0", []int{0, 5}, 0, []int{1, 2}},
			{"2d_ax1", []int{3, 0}, 1, []int{3, 6, 1, 2}},
			{"3d_axneg1", []int{2, 3, 0}, -1, []int{1, 3}},
			{"4d_ax1", []int{2, 0, 3, 3}, 1, []int{5, 2, 7}},
			{"4d_ax2", []int{1, 2, 0, 5}, 2, []int{1, 1, 3}},
			{"4d_ax3", []int{3, 2, 2, 0}, 3, []int{2, 3}},
			{"big_ax1", []int{1, 0, 17, 9}, 1, []int{33, 64}},
		} {
			sy, zy := randScale(def), randZP(def, d)
			params := make([]qtensor.Params, len(c.sizes))
			for i := range params {
				if i%2 == 0 { // even inputs share the output's params: copied
					params[i] = qtensor.TensorParams(sy, zy)
				} else {
					params[i] = qtensor.TensorParams(randScale(def), randZP(def, d))
				}
			}
			axis := c.axis
			if axis < 0 {
				axis += len(c.base)
			}
			shapes := make([][]int, len(c.sizes))
			for i, n := range c.sizes {
				s := append([]int(nil), c.base...)
				s[axis] = n
				shapes[i] = s
			}
			l.add(Case{Op: "Concat", Name: fmt.Sprintf("%s_%s", short(d), c.name),
				Inputs: func(r *rand.Rand) []*qtensor.Tensor {
					out := make([]*qtensor.Tensor, len(shapes))
					for i, s := range shapes {
						out[i] = randQ(r, d, s, params[i])
					}
					return out
				},
				Build: one(func(b *engine.Batch, x []*engine.Tensor) (*engine.Tensor, error) {
					return b.Concat(x, c.axis, sy, zy)
				})})
		}
	}
}
