package vulkan

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/qgpu/qgpu/backends/internal/gpu"
	"github.com/qgpu/qgpu/backends/vulkan/internal/vkrt"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/shaders"
)

// Supports reports nil when the launch planner can run op on this device.
func (b *Backend) Supports(op backend.Op) error {
	if err := b.enter(); err != nil {
		return err
	}
	defer b.leave()
	p, err := gpu.PlanOp(op)
	if err != nil {
		return fmt.Errorf("vulkan: %w", err)
	}
	for _, l := range p.Launches {
		if err := b.checkLaunch(&l); err != nil {
			return err
		}
	}
	// lavapipe is llvmpipe underneath: the same loop limiter silently ends
	// every loop of an invocation after gpu.LoopBudget iterations.
	if err := gpu.CheckLoopBudget(op, b.caps.Name, gpu.LoopLimited(b.caps.Name)); err != nil {
		return fmt.Errorf("vulkan: %w", err)
	}
	if err := b.variantLoopBudget(op); err != nil {
		return fmt.Errorf("vulkan: %w", err)
	}
	return nil
}

// checkLaunch verifies that every bound tensor fits one storage-buffer
// binding on this device.
func (b *Backend) checkLaunch(l *gpu.Launch) error {
	for i, t := range l.Bind[:gpu.SlotAux] {
		if t == nil {
			continue
		}
		if n := bindSize(t); n > int64(b.caps.MaxStorageBufferRange) {
			return fmt.Errorf("vulkan: %w: binding %d of %s: %v needs %d bytes, over maxStorageBufferRange %d",
				backend.ErrUnsupported, i, l.Kernel(), t, n, b.caps.MaxStorageBufferRange)
		}
	}
	return nil
}

// bindSize is the byte range bound for a tensor: its data rounded up to
// whole words (the engine allocates them), at least one word.
func bindSize(t *backend.Tensor) int64 { return max(4, (int64(t.Bytes())+3)&^3) }

// Run executes ops in order as one submission.
func (b *Backend) Run(ctx context.Context, ops []backend.Op) error {
	_, err := b.run(ctx, ops, false)
	return err
}

// RunTimed is Run that also returns each op's GPU time in seconds (the sum
// of its launches' timestamp intervals). Without timestamp support on the
// device the times are 0.
func (b *Backend) RunTimed(ctx context.Context, ops []backend.Op) ([]float64, error) {
	return b.run(ctx, ops, true)
}

// launch is one dispatch resolved to device objects.
type launch struct {
	kernel string
	bind   [4]vkrt.Binding
	params shaders.Params
	groups [3]uint32
}

func (b *Backend) run(ctx context.Context, ops []backend.Op, timed bool) ([]float64, error) {
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
	auxOff := make([]int64, len(ops))
	var auxBytes int64
	nl := 0
	for i, op := range ops {
		p, err := gpu.PlanOp(op)
		if err != nil {
			return nil, fmt.Errorf("vulkan: %v: %w", op.Kind(), err)
		}
		plans[i] = p
		auxOff[i] = auxBytes
		auxBytes += (int64(4*len(p.Aux)) + b.align - 1) / b.align * b.align
		nl += len(p.Launches)
	}
	aux, err := b.pool.get(auxBytes)
	if err != nil {
		return nil, err
	}
	auxBuf := &buffer{b: b, vb: aux, size: int(auxBytes)}
	defer auxBuf.Free()
	if err := writeAux(aux, plans, auxOff); err != nil {
		return nil, err
	}
	ls := make([]launch, 0, nl)
	owner := make([]int, 0, nl) // op index of each launch
	var bufs []*buffer
	for i := range plans {
		for j := range plans[i].Launches {
			pl := &plans[i].Launches[j]
			if err := b.checkLaunch(pl); err != nil {
				return nil, err
			}
			kernel, grid := b.variant(pl)
			l := launch{kernel: kernel, params: pl.Params, groups: grid}
			for s, t := range pl.Bind[:gpu.SlotAux] {
				if t == nil {
					l.bind[s] = vkrt.Binding{Buf: b.dummy}
					continue
				}
				m, ok := t.Buffer().(*buffer)
				if !ok || m.b != b {
					return nil, fmt.Errorf("vulkan: %v: %w: tensor %v does not belong to this backend", ops[i].Kind(), backend.ErrParams, t)
				}
				l.bind[s] = vkrt.Binding{Buf: m.vb, Off: int64(t.Offset()), Size: bindSize(t)}
				bufs = append(bufs, m)
			}
			l.bind[gpu.SlotAux] = vkrt.Binding{Buf: aux, Off: auxOff[i], Size: int64(4 * len(plans[i].Aux))}
			ls = append(ls, l)
			owner = append(owner, i)
		}
	}
	tm, err := b.submit(ctx, ls, timed)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			// The GPU may still be running: keep these buffers out of
			// the pool; the runtime destroys them when it finishes.
			auxBuf.tainted.Store(true)
			for _, m := range bufs {
				m.tainted.Store(true)
			}
		}
		return nil, err
	}
	if !timed {
		return nil, nil
	}
	out := make([]float64, len(ops))
	for k, d := range tm.Commands {
		out[owner[k]] += d.Seconds()
	}
	return out, nil
}

// writeAux stores every plan's auxiliary words at its offset.
func writeAux(aux *vkrt.Buffer, plans []gpu.Plan, offs []int64) error {
	if m := aux.Mapped(); m != nil {
		for i, p := range plans {
			o := offs[i]
			for k, w := range p.Aux {
				binary.LittleEndian.PutUint32(m[o+int64(4*k):], w)
			}
		}
		return nil
	}
	for i, p := range plans {
		bs := make([]byte, 4*len(p.Aux))
		for k, w := range p.Aux {
			binary.LittleEndian.PutUint32(bs[4*k:], w)
		}
		if err := aux.Write(offs[i], bs); err != nil {
			return mapErr("write aux", err)
		}
	}
	return nil
}

// submit records the launches into one sequence and submits it.
func (b *Backend) submit(ctx context.Context, ls []launch, timed bool) (vkrt.Timing, error) {
	s, _ := b.seqs.Get().(*vkrt.Sequence)
	if s == nil {
		s = b.dev.NewSequence()
	}
	defer func() {
		s.Reset()
		b.seqs.Put(s)
	}()
	s.Timestamps(timed)
	var push [shaders.ParamBytes]byte
	for i := range ls {
		l := &ls[i]
		p, err := b.pipeline(l.kernel)
		if err != nil {
			return vkrt.Timing{}, err
		}
		clear(push[:])
		l.params.AppendTo(push[:0])
		if err := s.Dispatch(p, l.bind[:], push[:], l.groups[0], l.groups[1], l.groups[2]); err != nil {
			return vkrt.Timing{}, mapErr("dispatch "+l.kernel, err)
		}
	}
	t, err := s.Submit(ctx)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return vkrt.Timing{}, err
		}
		return vkrt.Timing{}, mapErr("submit", err)
	}
	return t, nil
}
