package model

import (
	"slices"
	"strings"

	"github.com/qgpu/qgpu/engine"
)

// Channels-last activations. The graph is NCHW; on the device, a 4-D
// quantized value that only convolutions, pools and elementwise engine
// ops make and read is stored NHWC instead (engine.NHWC), so that the
// CPU backend's kernels need no layout changes between layers: the
// convolution that reads the graph's NCHW input writes NHWC, and the one
// (or the pool) whose result leaves the chain - for a host node, a graph
// output, a Gemm, a view - writes NCHW again. The layout only moves
// elements (docs/semantics.md, Conv): the outputs are the same bytes
// either way.

// chooseLayouts fills p.nhwc: the values stored channels-last. A value
// qualifies when it is 4-D, made by a layWindow or layElem engine step,
// read only by such steps (a layWindow step reads only its input) and
// not a graph output; the values an elementwise step reads and writes
// qualify together or not at all.
func (p *plan) chooseLayouts() {
	p.nhwc = map[string]bool{}
	if p.nchwOnly {
		return
	}
	cand := map[string]bool{}
	for _, s := range p.steps {
		if s.host || s.lay == layNCHW {
			continue
		}
		for _, o := range s.outs {
			if v, ok := p.g.Values[o]; ok && len(v.Shape) == 4 && !p.isOut[o] {
				cand[o] = true
			}
		}
	}
	for _, s := range p.steps {
		if s.host || s.lay == layNCHW {
			for _, v := range s.ins {
				delete(cand, v)
			}
		}
	}
	for changed := true; changed; {
		changed = false
		for _, s := range p.steps {
			if s.host || s.lay != layElem {
				continue
			}
			vals := append(slices.Clone(s.ins), s.outs...)
			if slices.ContainsFunc(vals, func(v string) bool { return !cand[v] }) {
				for _, v := range vals {
					if cand[v] {
						delete(cand, v)
						changed = true
					}
				}
			}
		}
	}
	p.nhwc = cand
}

// layout returns the device layout of value v.
func (p *plan) layout(v string) engine.Layout {
	if p.nhwc[v] {
		return engine.NHWC
	}
	return engine.NCHW
}

// devShape returns the shape of value v on the device: the graph's,
// permuted to [N, H, W, C] for a channels-last value.
func (p *plan) devShape(v string, graphShape []int) []int {
	if p.nhwc[v] && len(graphShape) == 4 {
		s := graphShape
		return []int{s[0], s[2], s[3], s[1]}
	}
	return graphShape
}

// describe returns the op descriptions of step s for the plan, the first
// one naming the layouts when a value is channels-last: "NHWC" when input
// and output are, "NCHW->NHWC" when only the output is.
func (p *plan) describe(s *step) []string {
	ops := slices.Clone(s.ops)
	if s.host || s.lay == layNCHW || len(ops) == 0 || len(s.outs) == 0 {
		return ops
	}
	yl := p.layout(s.outs[0])
	xl := yl
	if len(s.ins) > 0 {
		xl = p.layout(s.ins[0])
	}
	if xl == engine.NCHW && yl == engine.NCHW {
		return ops
	}
	l := xl.String()
	if xl != yl {
		l += "->" + yl.String()
	}
	if op, ok := strings.CutSuffix(ops[0], ")"); ok {
		ops[0] = op + "," + l + ")"
	} else {
		ops[0] += "(" + l + ")"
	}
	return ops
}
