package model

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/model/graph"
)

// An executor runs inferences of a model on activations it owns: its
// engine steps recorded once into batches (one per submission), its device
// tensors allocated once, and a program that, per inference, writes the
// host values the batches read into their tensors (Engine.Write), runs the
// batches, downloads what host nodes and graph outputs need, and runs the
// host nodes. An executor serves one inference at a time; the model keeps
// idle ones for the next Runs (Model.takeExecutor).
type executor struct {
	md   *Model
	prog []instr
	// made holds every device tensor the executor allocated (activations,
	// upload targets, constants read by engine steps, views).
	made    []*engine.Tensor
	batches []*engine.Batch
}

type instrKind uint8

const (
	doHost     instrKind = iota // evaluate a host step
	doUpload                    // write host value v into t
	doRun                       // run batch b
	doDownload                  // download t into host value v
)

type instr struct {
	kind instrKind
	s    *step
	v    string
	t    *engine.Tensor
	b    *engine.Batch
}

// newExecutor records the plan's engine steps and lays out the program,
// following Run's rules (a host step that reads a value made in the open
// batch ends it; see runState). each: every engine step in a batch of its
// own (Profile's executor; the doRun instruction names the step).
func (md *Model) newExecutor(each bool) (x *executor, err error) {
	p := md.plan
	x = &executor{md: md}
	defer func() {
		if err != nil {
			x.release()
			x = nil
		}
	}()
	dev := map[string]*engine.Tensor{}
	onHost := map[string]bool{}
	pending := map[string]bool{}
	for _, in := range md.inputs {
		onHost[in.Name] = true
	}
	var b *engine.Batch
	flush := func() {
		if b != nil {
			x.prog = append(x.prog, instr{kind: doRun, b: b})
			b = nil
			clear(pending)
		}
	}
	toHost := func(v string) error {
		if onHost[v] || p.g.Initializers[v] != nil || p.consts[v] != nil {
			return nil
		}
		t := dev[v]
		if t == nil {
			return fmt.Errorf("model: %w: value %q was not computed (a bug in the plan)", ErrParams, v)
		}
		if pending[v] {
			flush()
		}
		x.prog = append(x.prog, instr{kind: doDownload, v: v, t: t})
		onHost[v] = true
		return nil
	}
	toDevice := func(v string) (*engine.Tensor, error) {
		if t := dev[v]; t != nil {
			return t, nil
		}
		if t := p.wdev[v]; t != nil {
			return t, nil
		}
		c := p.g.Initializers[v]
		if c == nil {
			c = p.consts[v]
		}
		if c == nil && !onHost[v] {
			return nil, fmt.Errorf("model: %w: value %q was not computed (a bug in the plan)", ErrParams, v)
		}
		info := p.g.Values[v]
		shape, dt := info.Shape, info.DType
		if c != nil {
			shape, dt = c.Shape, c.DType
		}
		d, prm, err := p.deviceType(v, dt)
		if err != nil {
			return nil, err
		}
		var t *engine.Tensor
		if c != nil {
			// A constant an engine step reads: uploaded once.
			q, err := hostToQ(c, prm)
			if err != nil {
				return nil, fmt.Errorf("model: uploading %s: %w", v, err)
			}
			if t, err = md.eng.Upload(q); err != nil {
				return nil, fmt.Errorf("model: uploading %s: %w", v, err)
			}
		} else {
			if t, err = md.eng.Empty(d, shape, prm); err != nil {
				return nil, fmt.Errorf("model: %s: %w", v, err)
			}
			x.prog = append(x.prog, instr{kind: doUpload, v: v, t: t})
		}
		x.made = append(x.made, t)
		dev[v] = t
		return t, nil
	}
	keep := func(t *engine.Tensor) { x.made = append(x.made, t) }
	for _, s := range p.steps {
		if s.host {
			for _, in := range s.ins {
				if err := toHost(in); err != nil {
					return nil, err
				}
			}
			x.prog = append(x.prog, instr{kind: doHost, s: s})
			for _, o := range s.outs {
				onHost[o] = true
			}
			continue
		}
		ins := make([]*engine.Tensor, len(s.ins))
		for j, v := range s.ins {
			if ins[j], err = toDevice(v); err != nil {
				return nil, err
			}
		}
		if b == nil {
			b = md.eng.NewBatch()
			x.batches = append(x.batches, b)
		}
		outs, err := s.record(b, ins, keep)
		if err != nil {
			return nil, fmt.Errorf("model: %s: %w", nodeName(p.node(s.node)), err)
		}
		for j, v := range s.outs {
			x.made = append(x.made, outs[j])
			dev[v] = outs[j]
			pending[v] = true
		}
		if each {
			x.prog = append(x.prog, instr{kind: doRun, b: b, s: s})
			b = nil
			clear(pending)
		}
	}
	flush()
	for _, o := range md.outputs {
		if err := toHost(o.Name); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// release frees the executor's device tensors. Safe twice.
func (x *executor) release() {
	for _, t := range x.made {
		t.Release()
	}
	for _, b := range x.batches {
		b.Release()
	}
	x.made, x.batches, x.prog = nil, nil, nil
}

// run runs one inference on inputs (ordered and checked by the caller).
// With prof it times every instruction into prof (an executor made with
// each, so that every batch is one step).
func (x *executor) run(ctx context.Context, inputs []*Tensor, prof *Profile) ([]NamedTensor, error) {
	md, p := x.md, x.md.plan
	host := make(map[string]*graph.Tensor, len(inputs)+len(x.prog))
	fresh := map[string]bool{}
	for i, in := range md.inputs {
		host[in.Name] = inputs[i]
	}
	get := func(v string) *graph.Tensor {
		if t := host[v]; t != nil {
			return t
		}
		if t := p.g.Initializers[v]; t != nil {
			return t
		}
		return p.consts[v]
	}
	workers := md.hostWorkers()
	for _, in := range x.prog {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		start := time.Now()
		switch in.kind {
		case doHost:
			n := p.node(in.s.node)
			args := make([]*graph.Tensor, len(n.Inputs))
			for j, v := range n.Inputs {
				if v == "" {
					continue
				}
				if args[j] = get(v); args[j] == nil {
					return nil, fmt.Errorf("model: %w: value %q was not computed (a bug in the plan)", ErrParams, v)
				}
			}
			res, err := p.g.EvalNode(in.s.node, args, workers)
			if err != nil {
				return nil, fmt.Errorf("model: %w", err)
			}
			for j, o := range n.Outputs {
				if o != "" {
					host[o] = res[j]
				}
			}
			if prof != nil {
				wall := time.Since(start).Seconds()
				prof.add(n.OpType, "host", wall, 0)
				prof.Nodes = append(prof.Nodes, ProfileNode{Node: nodeName(n), Ops: n.OpType, Kind: n.OpType, Where: "host", Wall: wall})
			}
		case doUpload:
			h := host[in.v]
			if h == nil {
				return nil, fmt.Errorf("model: %w: value %q was not computed (a bug in the plan)", ErrParams, in.v)
			}
			if err := x.upload(in.v, in.t, h); err != nil {
				return nil, err
			}
			prof.transfer("upload", in.v, start)
		case doRun:
			if prof != nil {
				times, err := in.b.RunTimed(ctx)
				if err != nil {
					return nil, fmt.Errorf("model: %w", err)
				}
				prof.engineStep(p, in.s, time.Since(start).Seconds(), times)
				continue
			}
			if err := in.b.Run(ctx); err != nil {
				return nil, fmt.Errorf("model: %w", err)
			}
		case doDownload:
			h, err := md.eng.Download(in.t)
			if err != nil {
				return nil, fmt.Errorf("model: downloading %s: %w", in.v, err)
			}
			t, err := graph.FromQTensor(h)
			if err != nil {
				return nil, fmt.Errorf("model: %s: %w", in.v, err)
			}
			host[in.v] = t
			fresh[in.v] = true
			prof.transfer("download", in.v, start)
		}
	}
	out := make([]NamedTensor, len(md.outputs))
	for i, o := range md.outputs {
		t := get(o.Name)
		if t == nil {
			return nil, fmt.Errorf("model: %w: output %q was not computed (a bug in the plan)", ErrParams, o.Name)
		}
		if !fresh[o.Name] {
			t = t.Clone()
		}
		fresh[o.Name] = false // a second output of the same value gets a copy
		out[i] = NamedTensor{Name: o.Name, Tensor: t}
	}
	return out, nil
}

// upload writes host value v into device tensor t.
func (x *executor) upload(v string, t *engine.Tensor, h *graph.Tensor) error {
	eng := x.md.eng
	if h.DType == graph.Float32 {
		if err := eng.WriteFloat32(t, h.F32); err != nil {
			return fmt.Errorf("model: uploading %s: %w", v, err)
		}
		return nil
	}
	q, err := hostToQ(h, t.Params())
	if err == nil {
		err = eng.Write(t, q)
	}
	if err != nil {
		return fmt.Errorf("model: uploading %s: %w", v, err)
	}
	return nil
}

// hostWorkers is the goroutines host nodes use (Options.Workers, 0:
// GOMAXPROCS).
func (md *Model) hostWorkers() int {
	if md.workers > 0 {
		return md.workers
	}
	return runtime.GOMAXPROCS(0)
}

// maxIdle bounds the idle executors a model keeps (each holds a full set
// of activations).
func maxIdle() int { return max(2, runtime.GOMAXPROCS(0)) }

// takeExecutor returns an idle executor, or a new one.
func (md *Model) takeExecutor() (*executor, error) {
	md.xmu.Lock()
	if n := len(md.idle); n > 0 {
		x := md.idle[n-1]
		md.idle = md.idle[:n-1]
		md.xmu.Unlock()
		return x, nil
	}
	md.xmu.Unlock()
	return md.newExecutor(false)
}

// putExecutor keeps x for the next Run, or releases it.
func (md *Model) putExecutor(x *executor) {
	md.xmu.Lock()
	if len(md.idle) < maxIdle() {
		md.idle = append(md.idle, x)
		x = nil
	}
	md.xmu.Unlock()
	if x != nil {
		x.release()
	}
}

// releaseExecutors frees the idle executors (Close, with no Run left).
func (md *Model) releaseExecutors() {
	md.xmu.Lock()
	idle := md.idle
	md.idle = nil
	md.xmu.Unlock()
	for _, x := range idle {
		x.release()
	}
}
