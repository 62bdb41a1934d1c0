package dwconv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qgpu/qgpu/backends/cpu/internal/isa"
	"github.com/qgpu/qgpu/qtensor"
)

// forEachISA runs f once per supported implementation.
func forEachISA(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, impl := range []isa.ISA{isa.Generic, isa.AVX2, isa.AVX512} {
		t.Run(impl.String(), func(t *testing.T) {
			if !Supported(impl) {
				t.Skipf("%v not supported here", impl)
			}
			restore, err := SetISA(impl)
			if err != nil {
				t.Fatal(err)
			}
			defer restore()
			f(t)
		})
	}
}

func TestISASelection(t *testing.T) {
	if Current() != Detected() {
		t.Fatalf("Current %v != Detected %v at start", Current(), Detected())
	}
	restore, err := SetISA(isa.Generic)
	if err != nil {
		t.Fatal(err)
	}
	if Current() != isa.Generic {
		t.Fatalf("Current %v after SetISA(Generic)", Current())
	}
	restore()
	if Current() != Detected() {
		t.Fatalf("restore left %v", Current())
	}
	if _, err := SetISA(isa.ISA(7)); err == nil {
		t.Fatal("SetISA(ISA(7)) succeeded")
	}
}

// conv is one random depthwise plane: the unpadded input, the raw weights
// and zero points, and the geometry.
type conv struct {
	h, w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr int
	signed                                       bool
	x                                            []byte // h*w raw input bytes
	wt                                           []int32
	xzp, wzp, bias                               int32
}

func (c *conv) out() (oh, ow int) {
	oh = (c.h+c.pt+c.pb-(c.kh-1)*c.dh-1)/c.sh + 1
	ow = (c.w+c.pl+c.pr-(c.kw-1)*c.dw-1)/c.sw + 1
	return
}

// reference is the definition: bias plus (x - xzp) * (w - wzp) over the
// cells inside the input (padding cells contribute zero), in int64.
func (c *conv) reference() []int64 {
	oh, ow := c.out()
	r := make([]int64, oh*ow)
	for i := range oh {
		for j := range ow {
			s := int64(c.bias)
			for a := range c.kh {
				for b := range c.kw {
					y, x := i*c.sh+a*c.dh-c.pt, j*c.sw+b*c.dw-c.pl
					if y < 0 || y >= c.h || x < 0 || x >= c.w {
						continue
					}
					v := int64(c.x[y*c.w+x])
					if c.signed {
						v = int64(int8(c.x[y*c.w+x]))
					}
					s += (v - int64(c.xzp)) * (int64(c.wt[a*c.kw+b]) - int64(c.wzp))
				}
			}
			r[i*ow+j] = s
		}
	}
	return r
}

// plane stages c as a Plane (padded with xzp, exactly sized plus slack
// bytes).
func (c *conv) plane(slack int) *Plane {
	hp, wp := c.h+c.pt+c.pb, c.w+c.pl+c.pr
	src := make([]byte, hp*wp+slack)
	for i := range src {
		src[i] = byte(c.xzp)
	}
	for y := range c.h {
		copy(src[(y+c.pt)*wp+c.pl:], c.x[y*c.w:(y+1)*c.w])
	}
	w := make([]int32, len(c.wt))
	for i, v := range c.wt {
		w[i] = v - c.wzp
	}
	oh, ow := c.out()
	return &Plane{Src: src, Wp: wp, KH: c.kh, KW: c.kw, SH: c.sh, SW: c.sw, DH: c.dh, DW: c.dw,
		OH: oh, OW: ow, Signed: c.signed, W: w, Init: InitValue(c.bias, c.xzp, w)}
}

func randConv(rng *rand.Rand, h, w int) *conv {
	c := &conv{h: h, w: w, kh: 1 + rng.IntN(4), kw: 1 + rng.IntN(4), sh: 1 + rng.IntN(2), sw: 1 + rng.IntN(2),
		dh: 1 + rng.IntN(2), dw: 1 + rng.IntN(2), signed: rng.IntN(2) == 0}
	if rng.IntN(3) > 0 {
		c.kh, c.kw = 3, 3
	}
	if rng.IntN(5) == 0 {
		c.sw = 3 // Go path
	}
	c.pt, c.pl, c.pb, c.pr = rng.IntN(3), rng.IntN(3), rng.IntN(3), rng.IntN(3)
	// Make the padded input at least one window.
	for c.h+c.pt+c.pb < (c.kh-1)*c.dh+1 {
		c.pb++
	}
	for c.w+c.pl+c.pr < (c.kw-1)*c.dw+1 {
		c.pr++
	}
	c.x = make([]byte, h*w)
	for i := range c.x {
		c.x[i] = byte(rng.Uint32())
	}
	wSigned := rng.IntN(2) == 0
	c.wt = make([]int32, c.kh*c.kw)
	for i := range c.wt {
		if wSigned {
			c.wt[i] = int32(int8(rng.Uint32()))
		} else {
			c.wt[i] = int32(uint8(rng.Uint32()))
		}
	}
	// Zero points at the ends of the range often, to reach the extreme
	// products.
	pick := func(lo, hi int32) int32 {
		switch rng.IntN(4) {
		case 0:
			return lo
		case 1:
			return hi
		}
		return lo + rng.Int32N(hi-lo+1)
	}
	if c.signed {
		c.xzp = pick(-128, 127)
	} else {
		c.xzp = pick(0, 255)
	}
	if wSigned {
		c.wzp = pick(-128, 127)
	} else {
		c.wzp = pick(0, 255)
	}
	c.bias = rng.Int32N(1<<20) - 1<<19
	return c
}

func TestPlaneInt32(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for it := range 600 {
			h, w := 1+rng.IntN(20), 1+rng.IntN(70)
			if it < 70 {
				h, w = 1+it%9, 1+it // every width 1..70
			}
			c := randConv(rng, h, w)
			p := c.plane(rng.IntN(2))
			want := c.reference()
			got := make([]int32, len(want)+3)
			for i := range got {
				got[i] = 0x5a5a5a5a
			}
			p.Int32(got[:len(want)])
			for i, v := range want {
				if int64(got[i]) != v {
					t.Fatalf("case %d %+v: acc[%d] = %d, want %d", it, *c, i, got[i], v)
				}
			}
			for i := len(want); i < len(got); i++ {
				if got[i] != 0x5a5a5a5a {
					t.Fatalf("case %d: wrote past the output at %d", it, i)
				}
			}
		}
	})
}

func TestPlaneRequantize(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for it := range 400 {
			c := randConv(rng, 1+rng.IntN(20), 1+rng.IntN(70))
			p := c.plane(1)
			ref := c.reference()
			m := float32(math.Ldexp(rng.Float64()+0.5, -8-rng.IntN(10)))
			if it%50 == 0 { // non-finite multipliers take the Go loop
				m = []float32{float32(math.NaN()), float32(math.Inf(1)), 1e38}[it/50%3]
			}
			dt := qtensor.Uint8
			if rng.IntN(2) == 0 {
				dt = qtensor.Int8
			}
			zp := dt.QMin() + rng.Int32N(dt.QMax()-dt.QMin()+1)
			qmin, qmax := dt.QMin(), dt.QMax()
			if rng.IntN(2) == 0 { // ReLU
				qmin = zp
			}
			got := make([]byte, len(ref)+5)
			for i := range got {
				got[i] = 0xa5
			}
			p.Requantize(got[:len(ref)], m, zp, qmin, qmax)
			for i, v := range ref {
				want := byte(qtensor.Requantize(int32(v), m, zp, qmin, qmax))
				if got[i] != want {
					t.Fatalf("case %d %+v m=%v zp=%d [%d,%d]: y[%d] = %d, want %d (acc %d)", it, *c, m, zp, qmin, qmax, i, got[i], want, v)
				}
			}
			for i := len(ref); i < len(got); i++ {
				if got[i] != 0xa5 {
					t.Fatalf("case %d: wrote past the output at %d", it, i)
				}
			}
		}
	})
}

// TestExtremeProducts checks the largest |x - xzp| * |w - wzp| terms (255 *
// 255, both signs) summed over many cells.
func TestExtremeProducts(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		for _, tc := range []struct {
			signed   bool
			x        byte
			xzp, w   int32
			wzp      int32
			kh, kw   int
			outW     int
			bias     int32
			wantCell int64
		}{
			{false, 255, 0, -128, 127, 5, 5, 33, 7, -255 * 255},
			{false, 0, 255, -128, 127, 3, 3, 17, -9, 255 * 255},
			{true, 0x80, 127, 127, -128, 3, 3, 40, 0, -255 * 255},
			{true, 0x7f, -128, 127, -128, 7, 7, 16, 1 << 30, 255 * 255},
		} {
			t.Run(fmt.Sprint(tc), func(t *testing.T) {
				c := &conv{h: tc.kh + 2, w: tc.outW + tc.kw - 1, kh: tc.kh, kw: tc.kw, sh: 1, sw: 1, dh: 1, dw: 1,
					signed: tc.signed, xzp: tc.xzp, wzp: tc.wzp, bias: tc.bias}
				c.x = make([]byte, c.h*c.w)
				for i := range c.x {
					c.x[i] = tc.x
				}
				c.wt = make([]int32, tc.kh*tc.kw)
				for i := range c.wt {
					c.wt[i] = tc.w
				}
				want := int64(tc.bias) + int64(tc.kh*tc.kw)*tc.wantCell // by hand
				p := c.plane(0)
				got := make([]int32, p.OH*p.OW)
				p.Int32(got)
				for i, v := range got {
					if int64(v) != want {
						t.Fatalf("acc[%d] = %d, want %d", i, v, want)
					}
				}
			})
		}
	})
}

func TestCheckPanics(t *testing.T) {
	c := randConv(rand.New(rand.NewPCG(5, 6)), 8, 8)
	p := c.plane(0)
	for name, f := range map[string]func(){
		"short dst":   func() { p.Int32(make([]int32, p.OH*p.OW-1)) },
		"short src":   func() { q := *p; q.Src = q.Src[:q.lastIn()]; q.Int32(make([]int32, q.OH*q.OW)) },
		"short w":     func() { q := *p; q.W = q.W[:len(q.W)-1]; q.Int32(make([]int32, q.OH*q.OW)) },
		"bad stride":  func() { q := *p; q.SH = 0; q.Int32(make([]int32, q.OH*q.OW)) },
		"wide window": func() { q := *p; q.OW++; q.Int32(make([]int32, q.OH*q.OW)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
