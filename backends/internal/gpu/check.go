package gpu

import (
	"fmt"

	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/shaders"
)

// Limit is a device limit and its name in the API (for messages).
type Limit struct {
	Name  string
	Value int64
}

// Limits are the device limits the kernels and the planner depend on.
type Limits struct {
	// OffsetAlign is the storage-buffer offset alignment (it must divide
	// 256, the engine's tensor offset alignment).
	OffsetAlign Limit
	// Binding is the most bytes one storage-buffer binding may span:
	// larger tensors are unsupported.
	Binding Limit
	// ParamBlock bounds the parameter block (shaders.ParamBytes needed).
	ParamBlock Limit
	// StorageBuffers is the number of storage buffers a compute shader may
	// bind (4 needed).
	StorageBuffers Limit
	// Invocations, GroupSize and GroupCount are the work-group limits
	// (shaders.LocalSize invocations, MaxGroupsX groups in x and y needed).
	Invocations int64
	GroupSize   [3]int64
	GroupCount  [3]int64
	// SharedMemory is the shared memory of a work group in bytes (for
	// Caps).
	SharedMemory int64
}

// check refuses a device whose limits are below what the kernels and the
// planner assume (ErrUnavailable).
func (l *Limits) check(api, device string) error {
	if l.OffsetAlign.Value < 4 {
		l.OffsetAlign.Value = 4
	}
	unavailable := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s: %s", backend.ErrUnavailable, api, device, fmt.Sprintf(format, args...))
	}
	switch {
	case l.OffsetAlign.Value > 256 || 256%l.OffsetAlign.Value != 0:
		return unavailable("%s %d does not divide 256 (the engine's tensor offset alignment)", l.OffsetAlign.Name, l.OffsetAlign.Value)
	case l.ParamBlock.Value < shaders.ParamBytes:
		return unavailable("%s %d, the parameter block needs %d", l.ParamBlock.Name, l.ParamBlock.Value, shaders.ParamBytes)
	case l.StorageBuffers.Value < 4:
		return unavailable("%s %d; the kernels bind 4 storage buffers", l.StorageBuffers.Name, l.StorageBuffers.Value)
	case l.Invocations < shaders.LocalSize || l.GroupSize[0] < shaders.LocalSize || l.GroupCount[0] < MaxGroupsX || l.GroupCount[1] < MaxGroupsX:
		return unavailable("work-group limits too small (%d invocations, size %v, count %v)", l.Invocations, l.GroupSize, l.GroupCount)
	}
	return nil
}

// plan plans op and makes every check of whether this device can run it;
// the errors wrap backend.ErrUnsupported and name the op and device.
func (b *Backend) plan(op backend.Op) (Plan, error) {
	p, err := PlanOp(op)
	if err == nil {
		err = b.check(op, &p)
	}
	if err != nil {
		return Plan{}, fmt.Errorf("%s: %v on %s: %w", b.api, op.Kind(), b.info.Name, err)
	}
	return p, nil
}

func (b *Backend) check(op backend.Op, p *Plan) error {
	max := b.limits.Binding
	for i := range p.Launches {
		l := &p.Launches[i]
		for slot, t := range l.Bind[:SlotAux] {
			if t == nil {
				continue
			}
			if n := bindSize(t); n > max.Value {
				return fmt.Errorf("%w: binding %d of %s: %v needs %d bytes, over %s %d",
					backend.ErrUnsupported, slot, l.Kernel(), t, n, max.Name, max.Value)
			}
		}
	}
	if n := int64(4 * len(p.Aux)); n > max.Value {
		return fmt.Errorf("%w: %d bytes of auxiliary words, over %s %d", backend.ErrUnsupported, n, max.Name, max.Value)
	}
	if b.kern.loopLimited {
		if n := LoopIterations(op); n > LoopBudget {
			return loopBudgetError(n)
		}
	}
	return b.kern.check(op)
}

// loopBudgetError refuses a kernel needing n loop iterations per invocation
// on a loop-limited device.
func loopBudgetError(n int64) error {
	return fmt.Errorf("%w: needs up to %d loop iterations per invocation; the driver stops every loop after %d (Mesa gallivm's loop limiter)",
		backend.ErrUnsupported, n, LoopBudget)
}

// bindSize is the byte range bound for a tensor: its data rounded up to
// whole words (the engine allocates them), at least one word.
func bindSize(t *backend.Tensor) int64 { return max(4, (int64(t.Bytes())+3)&^3) }
