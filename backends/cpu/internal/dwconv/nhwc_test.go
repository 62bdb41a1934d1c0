package dwconv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qgpu/qgpu/qtensor"
)

// TestNHWC checks NHWC.Int32 and Requantize under each ISA against the
// definition on random geometries: channel counts around the 16- and
// 64-channel blocks (the masked tail included), a third 3x3 (their own
// kernels) with rows of 1 to 9 pixels (the 4-pixel steps and the tail),
// strides, dilations, int8 and uint8 inputs, the extreme weights, output
// rows apart (DRow), and guard values around the output.
func TestNHWC(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	var cases []NHWC
	var want [][]int32
	for it := range 300 {
		c := 1 + r.IntN(140)
		if it < 80 {
			c = 1 + it
		}
		p := NHWC{C: c, KH: 1 + r.IntN(4), KW: 1 + r.IntN(4), SH: 1 + r.IntN(2), SW: 1 + r.IntN(3),
			DH: 1 + r.IntN(2), DW: 1 + r.IntN(2), OH: 1 + r.IntN(9), OW: 1 + r.IntN(9), Signed: it%2 == 1}
		if it%3 == 0 { // the 3x3 kernels
			p.KH, p.KW = 3, 3
		}
		p.Wp = (p.OW-1)*p.SW + (p.KW-1)*p.DW + 1 + r.IntN(3)
		hp := (p.OH-1)*p.SH + (p.KH-1)*p.DH + 1
		p.Src = make([]byte, hp*p.Wp*c)
		for i := range p.Src {
			p.Src[i] = byte(r.Uint32())
		}
		w := make([]int32, c*p.KH*p.KW) // [c][cell]
		for i := range w {
			w[i] = r.Int32N(511) - 255
		}
		w[0] = -255
		init := make([]int32, c)
		for i := range init {
			init[i] = r.Int32N(1<<20) - 1<<19
		}
		var ok bool
		if p.W, p.Init, ok = PackNHWC(w, init, c, p.KH*p.KW); !ok {
			t.Fatal("PackNHWC refused int16 weights")
		}
		cases = append(cases, p)
		// The definition, on the unpacked weights.
		ref := make([]int32, p.OH*p.OW*c)
		for oh := range p.OH {
			for ow := range p.OW {
				for ch := range c {
					acc := init[ch]
					for kh := range p.KH {
						for kw := range p.KW {
							v := p.Src[((oh*p.SH+kh*p.DH)*p.Wp+ow*p.SW+kw*p.DW)*c+ch]
							x := int32(v)
							if p.Signed {
								x = int32(int8(v))
							}
							acc += x * w[ch*p.KH*p.KW+kh*p.KW+kw]
						}
					}
					ref[(oh*p.OW+ow)*c+ch] = acc
				}
			}
		}
		want = append(want, ref)
	}
	if _, _, ok := PackNHWC([]int32{1 << 15}, []int32{0}, 1, 1); ok {
		t.Error("PackNHWC took a weight of 2^15")
	}
	forEachISA(t, func(t *testing.T) {
		for i, p := range cases {
			row := p.OW * p.C
			if i%3 == 1 {
				p.DRow = row + 1 + i%7 // rows inside a wider output
			}
			dr := row
			if p.DRow != 0 {
				dr = p.DRow
			}
			n := (p.OH-1)*dr + row
			// at maps output element j of the definition to its place.
			at := func(j int) int { return j/row*dr + j%row }
			inRow := func(k int) bool { return k < n && k%dr < row }
			got := make([]int32, n+5)
			for j := range got {
				got[j] = 0x5a5a5a5a
			}
			p.Int32(got[:n])
			name := fmt.Sprintf("case %d C=%d k=%dx%d s=%d,%d d=%d,%d out=%dx%d signed=%v drow=%d", i, p.C, p.KH, p.KW, p.SH, p.SW, p.DH, p.DW, p.OH, p.OW, p.Signed, p.DRow)
			for j, w := range want[i] {
				if got[at(j)] != w {
					t.Fatalf("%s: element %d = %d, want %d (the definition)", name, j, got[at(j)], w)
				}
			}
			for k, v := range got {
				if !inRow(k) && v != 0x5a5a5a5a {
					t.Fatalf("%s: wrote element %d, outside the output rows", name, k)
				}
			}
			// Requantize: per-channel multipliers, uint8 or int8 ranges,
			// a ReLU-raised qmin; the bytes of qtensor.Requantize on the
			// definition's accumulators.
			rq := rand.New(rand.NewPCG(uint64(i), 33))
			mult := make([]float32, p.C)
			for ch := range mult {
				mult[ch] = float32(math.Ldexp(1+rq.Float64(), -rq.IntN(20)))
			}
			zp, qmin, qmax := rq.Int32N(256), int32(0), int32(255)
			if i%2 == 1 {
				zp, qmin, qmax = rq.Int32N(256)-128, -128, 127
			}
			if i%5 == 0 {
				qmin = zp
			}
			gq := make([]byte, n+5)
			for j := range gq {
				gq[j] = 0x5a
			}
			p.Requantize(gq[:n], mult, zp, qmin, qmax)
			for j, acc := range want[i] {
				if w := byte(qtensor.Requantize(acc, mult[j%p.C], zp, qmin, qmax)); gq[at(j)] != w {
					t.Fatalf("%s: Requantize byte %d (acc %d, m %g, zp %d, [%d, %d]) = %d, want %d", name, j, acc, mult[j%p.C], zp, qmin, qmax, gq[at(j)], w)
				}
			}
			for k, v := range gq {
				if !inRow(k) && v != 0x5a {
					t.Fatalf("%s: Requantize wrote byte %d, outside the output rows", name, k)
				}
			}
		}
	})
}
