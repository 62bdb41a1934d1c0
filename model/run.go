package model

import (
	"context"
	"fmt"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/model/graph"
)

// runState is one inference recorded as it goes: where each value is, the
// open batch, and every device tensor made (released when the inference
// ends). It is the plain path the executors are checked against
// (runReference; TestRerun): no batches kept, no tensors reused.
type runState struct {
	md      *Model
	p       *plan
	ctx     context.Context
	host    map[string]*graph.Tensor
	dev     map[string]*engine.Tensor
	b       *engine.Batch
	pending map[string]bool // values made by ops of the open batch
	made    []*engine.Tensor
	workers int
}

// runReference runs one inference on a runState (see there).
func (md *Model) runReference(ctx context.Context, inputs []NamedTensor) ([]NamedTensor, error) {
	ctx, ins, done, err := md.enter(ctx, inputs)
	if err != nil {
		return nil, err
	}
	defer done()
	r := &runState{md: md, p: md.plan, ctx: ctx, host: map[string]*graph.Tensor{}, dev: map[string]*engine.Tensor{},
		pending: map[string]bool{}, workers: md.hostWorkers()}
	defer r.release()
	for i, in := range md.inputs {
		r.host[in.Name] = ins[i]
	}
	for _, s := range r.p.steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := r.step(s); err != nil {
			return nil, err
		}
	}
	if err := r.flush(); err != nil {
		return nil, err
	}
	out := make([]NamedTensor, len(md.outputs))
	for i, o := range md.outputs {
		t, fresh, err := r.hostValue(o.Name)
		if err != nil {
			return nil, err
		}
		if !fresh {
			t = t.Clone()
		}
		out[i] = NamedTensor{Name: o.Name, Tensor: t}
	}
	return out, nil
}

// release frees every device tensor of the inference (those of an
// unflushed batch included: they were never run).
func (r *runState) release() {
	for _, t := range r.made {
		t.Release()
	}
	if r.b != nil {
		r.b.Release()
	}
}

func (r *runState) step(s *step) error {
	if s.host {
		return r.hostStep(s)
	}
	ins := make([]*engine.Tensor, len(s.ins))
	for j, v := range s.ins {
		t, err := r.deviceValue(v)
		if err != nil {
			return err
		}
		ins[j] = t
	}
	if r.b == nil {
		r.b = r.md.eng.NewBatch()
	}
	outs, err := s.record(r.b, ins, func(t *engine.Tensor) { r.made = append(r.made, t) })
	if err != nil {
		return fmt.Errorf("model: %s: %w", nodeName(r.p.node(s.node)), err)
	}
	for j, v := range s.outs {
		r.made = append(r.made, outs[j])
		r.dev[v] = outs[j]
		r.pending[v] = true
	}
	return nil
}

// flush runs the open batch.
func (r *runState) flush() error {
	if r.b == nil {
		return nil
	}
	b := r.b
	r.b = nil
	clear(r.pending)
	if err := b.Run(r.ctx); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	return nil
}

func (r *runState) hostStep(s *step) error {
	n := r.p.node(s.node)
	args := make([]*graph.Tensor, len(n.Inputs))
	for j, in := range n.Inputs {
		if in == "" {
			continue
		}
		t, _, err := r.hostValue(in)
		if err != nil {
			return err
		}
		args[j] = t
	}
	res, err := r.p.g.EvalNode(s.node, args, r.workers)
	if err != nil {
		return fmt.Errorf("model: %w", err)
	}
	for j, o := range n.Outputs {
		if o != "" {
			r.host[o] = res[j]
		}
	}
	return nil
}

// hostValue returns value v on the host: a constant, a host result, or a
// device result downloaded (running the open batch first if it makes v).
// fresh reports a tensor that no one else holds.
func (r *runState) hostValue(v string) (t *graph.Tensor, fresh bool, err error) {
	if t := r.host[v]; t != nil {
		return t, false, nil
	}
	if t := r.p.g.Initializers[v]; t != nil {
		return t, false, nil
	}
	if t := r.p.consts[v]; t != nil {
		return t, false, nil
	}
	d := r.dev[v]
	if d == nil {
		return nil, false, fmt.Errorf("model: %w: value %q was not computed (a bug in the plan)", ErrParams, v)
	}
	if r.pending[v] {
		if err := r.flush(); err != nil {
			return nil, false, err
		}
	}
	h, err := r.md.eng.Download(d)
	if err != nil {
		return nil, false, fmt.Errorf("model: downloading %s: %w", v, err)
	}
	t, err = graph.FromQTensor(h)
	if err != nil {
		return nil, false, fmt.Errorf("model: %s: %w", v, err)
	}
	r.host[v] = t
	return t, true, nil
}

// deviceValue returns value v on the device: a result of an earlier
// engine step, a weight, or a host value uploaded (with its quantization
// parameters).
func (r *runState) deviceValue(v string) (*engine.Tensor, error) {
	if t := r.dev[v]; t != nil {
		return t, nil
	}
	if t := r.p.wdev[v]; t != nil {
		return t, nil
	}
	h, _, err := r.hostValue(v)
	if err != nil {
		return nil, err
	}
	_, prm, err := r.p.deviceType(v, h.DType)
	if err != nil {
		return nil, err
	}
	q, err := hostToQ(h, prm)
	if err != nil {
		return nil, fmt.Errorf("model: uploading %s: %w", v, err)
	}
	t, err := r.md.eng.Upload(q)
	if err != nil {
		return nil, fmt.Errorf("model: uploading %s: %w", v, err)
	}
	r.made = append(r.made, t)
	r.dev[v] = t
	return t, nil
}
