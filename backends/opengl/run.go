package opengl

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/qgpu/qgpu/backends/internal/gpu"
	"github.com/qgpu/qgpu/backends/opengl/internal/glrt"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/shaders"
)

// Supports reports nil when the launch planner can run op and every bound
// tensor fits one shader storage block of this context.
func (b *Backend) Supports(op backend.Op) error {
	if err := b.enter(); err != nil {
		return err
	}
	defer b.leave()
	p, err := gpu.PlanOp(op)
	if err != nil {
		return fmt.Errorf("opengl: %w", err)
	}
	for i := range p.Launches {
		if err := b.checkLaunch(&p.Launches[i]); err != nil {
			return err
		}
	}
	if err := gpu.CheckLoopBudget(op, b.caps.Renderer, b.loopLimited); err != nil {
		return fmt.Errorf("opengl: %w", err)
	}
	if n := int64(4 * len(p.Aux)); n > b.caps.MaxShaderStorageBlockSize {
		return fmt.Errorf("opengl: %w: %v needs %d bytes of auxiliary words, over GL_MAX_SHADER_STORAGE_BLOCK_SIZE %d",
			backend.ErrUnsupported, op.Kind(), n, b.caps.MaxShaderStorageBlockSize)
	}
	return nil
}

// checkLaunch verifies that every bound tensor fits one storage block.
func (b *Backend) checkLaunch(l *gpu.Launch) error {
	for i, t := range l.Bind[:gpu.SlotAux] {
		if t == nil {
			continue
		}
		if n := bindSize(t); int64(n) > b.caps.MaxShaderStorageBlockSize {
			return fmt.Errorf("opengl: %w: binding %d of %s: %v needs %d bytes, over GL_MAX_SHADER_STORAGE_BLOCK_SIZE %d",
				backend.ErrUnsupported, i, l.Kernel(), t, n, b.caps.MaxShaderStorageBlockSize)
		}
	}
	return nil
}

// bindSize is the byte range bound for a tensor: its data rounded up to
// whole words (the engine allocates them), at least one word.
func bindSize(t *backend.Tensor) int { return max(4, (t.Bytes()+3)&^3) }

// Run executes ops in order as one submission and waits for the GPU.
func (b *Backend) Run(ctx context.Context, ops []backend.Op) error {
	_, err := b.run(ctx, ops, false)
	return err
}

// RunTimed is Run that also returns each op's GPU time in seconds (the sum
// of its launches' GL_TIMESTAMP intervals). Without timestamps (0 counter
// bits) it runs untimed and returns zeros.
func (b *Backend) RunTimed(ctx context.Context, ops []backend.Op) ([]float64, error) {
	return b.run(ctx, ops, true)
}

// kernel returns the program of a planned launch, with the variants this
// device needs.
func (b *Backend) kernel(p shaders.Params) (*glrt.Program, error) {
	name := p.Kernel()
	if name == "quantize" && b.exactDiv {
		name = exactDivKernel
	}
	prog, ok := b.progs[name]
	if !ok {
		return nil, fmt.Errorf("opengl: %w: no program for kernel %q", backend.ErrUnsupported, name)
	}
	return prog, nil
}

func (b *Backend) run(ctx context.Context, ops []backend.Op, timed bool) ([]float64, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := b.enter(); err != nil {
		return nil, err
	}
	defer b.leave()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		if timed {
			return []float64{}, nil
		}
		return nil, nil
	}
	plans := make([]gpu.Plan, len(ops))
	auxOff := make([]int, len(ops))
	auxBytes, nl := 0, 0
	for i, op := range ops {
		p, err := gpu.PlanOp(op)
		if err != nil {
			return nil, fmt.Errorf("opengl: %v: %w", op.Kind(), err)
		}
		plans[i] = p
		auxOff[i] = auxBytes
		auxBytes += (4*len(p.Aux) + b.align - 1) / b.align * b.align
		nl += len(p.Launches)
	}
	auxGB, err := b.aux.get(auxBytes)
	if err != nil {
		return nil, err
	}
	words := make([]byte, auxBytes)
	for i := range plans {
		for k, w := range plans[i].Aux {
			binary.LittleEndian.PutUint32(words[auxOff[i]+4*k:], w)
		}
	}
	batch := &glrt.Batch{Timing: timed && b.caps.TimerBits > 0}
	// Written by a GL command, the aux words need no barrier before the
	// dispatches read them; GL orders this upload after earlier dispatches
	// that read the pooled buffer.
	batch.Upload(auxGB, 0, words)
	owner := make([]int, 0, nl) // op index of each dispatch
	var params [shaders.ParamBytes]byte
	for i := range plans {
		for j := range plans[i].Launches {
			pl := &plans[i].Launches[j]
			prog, err := b.kernel(pl.Params)
			if err != nil {
				b.aux.put(auxGB)
				return nil, err
			}
			if err := b.checkLaunch(pl); err != nil {
				b.aux.put(auxGB)
				return nil, err
			}
			var binds [4]glrt.Binding
			for s, t := range pl.Bind[:gpu.SlotAux] {
				if t == nil {
					binds[s] = glrt.Binding{Index: uint32(s), Buffer: b.dummy, Size: 256, ReadOnly: s != gpu.SlotY}
					continue
				}
				m, ok := t.Buffer().(*buffer)
				if !ok || m.b != b {
					b.aux.put(auxGB)
					return nil, fmt.Errorf("opengl: %v: %w: tensor %v does not belong to this backend", ops[i].Kind(), backend.ErrParams, t)
				}
				binds[s] = glrt.Binding{Index: uint32(s), Buffer: m.gb, Offset: t.Offset(), Size: bindSize(t), ReadOnly: s != gpu.SlotY}
			}
			binds[gpu.SlotAux] = glrt.Binding{Index: gpu.SlotAux, Buffer: auxGB, Offset: auxOff[i], Size: 4 * len(plans[i].Aux), ReadOnly: true}
			clear(params[:])
			pl.Params.AppendTo(params[:0])
			batch.Dispatch(glrt.Dispatch{Program: prog, Groups: pl.Groups, Bindings: binds[:], Params: params[:], ParamsBinding: 0})
			owner = append(owner, i)
		}
	}
	st, err := b.ctx.Run(batch)
	if err == nil && !batch.Timing {
		// Timed batches waited for their query results; others wait here,
		// so Run returns when the work is done (and GPU faults surface now).
		err = b.ctx.Finish()
	}
	// After Finish (or a failed Run, which issued nothing or was followed
	// by commands GL orders after it) the aux buffer can be reused.
	b.aux.put(auxGB)
	if err != nil {
		return nil, mapErr("run", err)
	}
	if !timed {
		return nil, nil
	}
	out := make([]float64, len(ops))
	for k, d := range st.GPUTime {
		out[owner[k]] += d.Seconds()
	}
	return out, nil
}
