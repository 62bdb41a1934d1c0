package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// The matmulnbits suite of qgpu bench: MatMulNBits with 4-bit weights.

// nbitsSuite is the default: LLaMA-7B's linear layers at M = 1, 16, 128 in
// both activation modes, block 32.
func nbitsSuite() []string {
	var s []string
	for _, kn := range []string{"4096x4096", "4096x11008", "11008x4096"} {
		for _, m := range []int{1, 16, 128} {
			for _, mode := range []string{"", ",int8"} {
				s = append(s, fmt.Sprintf("%dx%s,b32%s", m, kn, mode))
			}
		}
	}
	return s
}

// parseNBitsShape parses MxKxN[,bBLOCK][,int8].
func parseNBitsShape(s string) (benchCase, error) {
	parts := strings.Split(s, ",")
	c, err := parseGemmShape(parts[0])
	if err != nil {
		return c, usagef("bench: MatMulNBits shape %q: want MxKxN[,bBLOCK][,int8]", s)
	}
	c.op, c.bs = "matmulnbits", 32
	for _, p := range parts[1:] {
		switch {
		case p == "int8":
			c.int8Act = true
		case strings.HasPrefix(p, "b"):
			bs, err := strconv.Atoi(p[1:])
			if err != nil || bs < engine.MinNBitsBlock || bs > engine.MaxNBitsBlock || bs&(bs-1) != 0 {
				return c, usagef("bench: MatMulNBits shape %q: block %q: want a power of two from %d to %d", s, p, engine.MinNBitsBlock, engine.MaxNBitsBlock)
			}
			c.bs = bs
		default:
			return c, usagef("bench: MatMulNBits shape %q: unknown part %q (want MxKxN[,bBLOCK][,int8])", s, p)
		}
	}
	c.shape = fmt.Sprintf("%dx%dx%d,b%d", c.m, c.k, c.n, c.bs)
	if c.int8Act {
		c.shape += ",int8"
	}
	return c, nil
}

// nbits records MatMulNBits of random float32 activations (M x K) and
// random uint4 weights (N x K padded to whole blocks, zero point 8,
// scales in [0.01, 0.02)).
func (s *benchSetup) nbits(eng *engine.Engine, c benchCase) error {
	nb := (c.k + c.bs - 1) / c.bs
	r := rand.New(rand.NewPCG(11, 12))
	p := qtensor.Params{Granularity: qtensor.PerBlock, Axis: 1, BlockSize: c.bs, Scales: make([]float32, c.n*nb), ZeroPoints: make([]int32, c.n*nb)}
	for i := range p.Scales {
		p.Scales[i], p.ZeroPoints[i] = 0.01+0.01*r.Float32(), 8
	}
	w := benchData((c.n*nb*c.bs+1)/2, 13, randU8)
	dw, err := s.keep(upload(eng, qtensor.Uint4, []int{c.n, nb * c.bs}, p, w))
	if err != nil {
		return err
	}
	a, err := s.keep(eng.UploadFloat32([]int{c.m, c.k}, randF32(c.m*c.k, 14, -2, 2)))
	if err != nil {
		return err
	}
	if _, err := s.keep(s.b.MatMulNBits(a, dw, engine.NBitsOptions{Int8Activations: c.int8Act})); err != nil {
		return err
	}
	s.ops = 2 * float64(c.m) * float64(c.n) * float64(c.k)
	s.bytes = float64(len(w) + 4*len(p.Scales))
	s.output = "float32"
	if c.int8Act {
		s.output = "float32 (int8 act.)"
	}
	return nil
}
