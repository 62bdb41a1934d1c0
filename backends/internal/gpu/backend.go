package gpu

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"sync"

	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/shaders"
)

// Device describes an opened device to New.
type Device struct {
	// Info is the API's description: Backend (the registry name, which
	// also prefixes errors), Name, Driver, Kind and the API's own Caps.
	// New adds the capabilities every GPU backend reports.
	Info   backend.DeviceInfo
	Limits Limits
	// Gemm is the GEMM kernel to run ("gemm", or a variant of
	// shaders.Variants the API chose from the device's features);
	// GemmForced runs it on every GEMM shape (tests).
	Gemm       string
	GemmForced bool
	// NBitsDot runs MatMulNBits' int8-mode products on 4-bit weights with
	// the packed dot product variant (NBitsDotKernel).
	NBitsDot bool
	// ExactDiv forces the quantize variant with the integer-only division
	// (tests); otherwise the self-test chooses.
	ExactDiv bool
	// SkipSelfTest skips the start-up self-tests (tests).
	SkipSelfTest bool
	// Eager compiles every kernel at open (where the driver compiles
	// GLSL, so its errors surface then); otherwise each kernel and
	// variant is compiled on first use.
	Eager bool
}

// Backend is a GPU backend over one Runtime: it implements
// backend.Backend and backend.Timer. It is safe for concurrent use.
type Backend struct {
	rt     Runtime
	api    string
	limits Limits
	info   backend.DeviceInfo
	dummy  Memory // bound where a launch binds no tensor
	pool   pool
	kern   variants
	self   selfTest

	kmu      sync.Mutex
	compiled map[string]Kernel // by kernel or variant name

	// mu is held for reading by every operation that uses the device and
	// for writing by Close.
	mu     sync.RWMutex
	closed bool
}

var (
	_ backend.Backend = (*Backend)(nil)
	_ backend.Timer   = (*Backend)(nil)
)

// New checks the device's limits, runs the start-up self-tests and returns
// the backend. It owns rt from then on: on error rt is closed.
func New(rt Runtime, d Device) (*Backend, error) {
	b := &Backend{rt: rt, api: d.Info.Backend, limits: d.Limits, info: d.Info, compiled: map[string]Kernel{}}
	b.pool.b = b
	b.kern = variants{exactDiv: d.ExactDiv, gemm: d.Gemm, gemmForced: d.GemmForced, nbitsDot: d.NBitsDot, loopLimited: LoopLimited(d.Info.Name)}
	if b.kern.gemm == "" {
		b.kern.gemm = "gemm"
	}
	err := b.limits.check(b.api, d.Info.Name)
	if err == nil {
		b.dummy, err = b.rt.NewMemory(256)
		if err == nil {
			err = b.dummy.Zero(256)
		}
		err = b.wrap("open", err)
	}
	for _, k := range shaders.Kernels {
		if err == nil && d.Eager {
			_, err = b.kernel(k)
			err = b.wrap("kernel "+k, err)
		}
	}
	if err == nil && !d.SkipSelfTest {
		if err = b.selfTest(); err != nil {
			err = fmt.Errorf("%s: %s: start-up self-test: %w", b.api, d.Info.Name, err)
		}
	}
	if err != nil {
		rt.Close()
		return nil, err
	}
	b.info.Caps = maps.Clone(d.Info.Caps)
	if b.info.Caps == nil {
		b.info.Caps = map[string]string{}
	}
	b.addCaps(b.info.Caps)
	return b, nil
}

// GPU returns b (through the API backends embedding it: for tests).
func (b *Backend) GPU() *Backend { return b }

// kernel returns the compiled kernel or variant name, compiling it on
// first use.
func (b *Backend) kernel(name string) (Kernel, error) {
	b.kmu.Lock()
	defer b.kmu.Unlock()
	if k, ok := b.compiled[name]; ok {
		return k, nil
	}
	k, err := b.rt.Compile(name)
	if err != nil {
		return nil, err
	}
	b.compiled[name] = k
	return k, nil
}

// Name returns the registry name of the backend.
func (b *Backend) Name() string { return b.api }

// Device describes the device, its capabilities and the kernel variants
// in use.
func (b *Backend) Device() backend.DeviceInfo {
	info := b.info
	info.Caps = maps.Clone(b.info.Caps)
	return info
}

// addCaps adds the capabilities every GPU backend reports.
func (b *Backend) addCaps(c map[string]string) {
	l := &b.limits
	c["storage_offset_align"] = strconv.FormatInt(l.OffsetAlign.Value, 10)
	c["max_storage_binding"] = strconv.FormatInt(l.Binding.Value, 10)
	c["shared_memory"] = strconv.FormatInt(l.SharedMemory, 10)
	c["workgroup_invocations"] = strconv.FormatInt(l.Invocations, 10)
	c["workgroup_size"] = fmt.Sprintf("%dx%dx%d", l.GroupSize[0], l.GroupSize[1], l.GroupSize[2])
	c["workgroup_count"] = fmt.Sprintf("%dx%dx%d", l.GroupCount[0], l.GroupCount[1], l.GroupCount[2])
	c["loop_budget"] = "none known"
	if b.kern.loopLimited {
		c["loop_budget"] = strconv.Itoa(LoopBudget) + " iterations per invocation (gallivm loop limiter)"
	}
	c["kernel_gemm"] = b.kern.gemm
	c["kernel_nbits_int8"] = "nbits"
	if b.kern.nbitsDot {
		c["kernel_nbits_int8"] = NBitsDotKernel
	}
	c["kernel_quantize_division"] = "plain"
	if b.kern.exactDiv {
		c["kernel_quantize_division"] = "exactdiv"
	}
	c["selftest_division"] = b.self.division
	// tests.CapDenormals: measured at open, not a reported property.
	c["denormals"] = b.self.denormals
}

// YesNo formats a capability flag.
func YesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}

// Close waits for running work and frees everything the backend made.
// Safe to call twice.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	b.pool.drop()
	return b.wrap("close", b.rt.Close())
}

// enter takes the read lock, failing when the backend is closed.
func (b *Backend) enter() error {
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return fmt.Errorf("%s: backend %w", b.api, backend.ErrClosed)
	}
	return nil
}

func (b *Backend) leave() { b.mu.RUnlock() }

// wrap describes a runtime error of the operation what, wrapping the
// engine sentinel it stands for.
func (b *Backend) wrap(what string, err error) error {
	return WrapError(b.api, what, err, b.rt.Sentinel)
}

// WrapError describes an error of the runtime of backend api in the
// operation what: "api: what: sentinel: err" when sentinel(err) names an
// engine sentinel, else "api: what: err" (wrapping err). nil stays nil.
func WrapError(api, what string, err error, sentinel func(error) error) error {
	if err == nil {
		return nil
	}
	if s := sentinel(err); s != nil {
		return fmt.Errorf("%s: %s: %w: %v", api, what, s, err)
	}
	return fmt.Errorf("%s: %s: %w", api, what, err)
}

// Supports reports nil when the backend can run op on this device: the
// checks Run makes before running anything.
func (b *Backend) Supports(op backend.Op) error {
	if err := b.enter(); err != nil {
		return err
	}
	defer b.leave()
	_, err := b.plan(op)
	return err
}

// Run executes ops in order as one submission. It plans every op first
// (once) and runs nothing when one cannot run here (an error wrapping
// backend.ErrUnsupported, as Supports reports it).
func (b *Backend) Run(ctx context.Context, ops []backend.Op) error {
	_, err := b.run(ctx, ops, false)
	return err
}

// RunTimed is Run that also returns each op's device time in seconds (the
// sum of its launches' times; 0 where the device cannot measure them).
func (b *Backend) RunTimed(ctx context.Context, ops []backend.Op) ([]float64, error) {
	return b.run(ctx, ops, true)
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
	plans, err := b.planAll(ops)
	if err != nil {
		return nil, err
	}
	return b.submit(ctx, ops, plans, timed)
}

// planAll plans every op with its checks (plan), before anything runs.
func (b *Backend) planAll(ops []backend.Op) ([]Plan, error) {
	plans := make([]Plan, len(ops))
	for i, op := range ops {
		p, err := b.plan(op)
		if err != nil {
			return nil, err
		}
		plans[i] = p
	}
	return plans, nil
}

// resolved is planned ops resolved to one submission.
type resolved struct {
	s     Submission
	aux   *buffer   // the auxiliary words of every plan
	used  []*buffer // the tensors' buffers
	owner []int     // op index of each dispatch
}

// resolve lays out the plans' auxiliary words in one pooled buffer (each
// plan's at an aligned offset) and makes one dispatch per launch, with the
// kernel variant chosen for this device. The caller frees r.aux.
func (b *Backend) resolve(ops []backend.Op, plans []Plan) (*resolved, error) {
	align := b.limits.OffsetAlign.Value
	auxOff := make([]int64, len(plans))
	var auxBytes int64
	nl := 0
	for i, p := range plans {
		auxOff[i] = auxBytes
		auxBytes += (int64(4*len(p.Aux)) + align - 1) / align * align
		nl += len(p.Launches)
	}
	aux, err := b.pool.get(auxBytes)
	if err != nil {
		return nil, err
	}
	r := &resolved{aux: &buffer{b: b, mem: aux, size: int(auxBytes)}, owner: make([]int, 0, nl)}
	words := make([]byte, auxBytes)
	for i, p := range plans {
		for k, w := range p.Aux {
			binary.LittleEndian.PutUint32(words[auxOff[i]+int64(4*k):], w)
		}
	}
	r.s = Submission{Uploads: []Upload{{Mem: aux, Data: words}}, Dispatches: make([]Dispatch, 0, nl)}
	params := make([]byte, nl*shaders.ParamBytes)
	for i := range plans {
		for j := range plans[i].Launches {
			l := &plans[i].Launches[j]
			d := Dispatch{Params: params[:shaders.ParamBytes:shaders.ParamBytes], WritesAux: l.WritesAux}
			params = params[shaders.ParamBytes:]
			l.Params.AppendTo(d.Params[:0])
			d.Name, d.Groups = b.kern.choose(l)
			if d.Kernel, err = b.kernel(d.Name); err != nil {
				r.aux.Free()
				return nil, b.wrap("kernel "+d.Name, err)
			}
			for slot, t := range l.Bind[:SlotAux] {
				if t == nil {
					d.Bind[slot] = Binding{Mem: b.dummy, Size: b.dummy.Size()}
					continue
				}
				m, ok := t.Buffer().(*buffer)
				if !ok || m.b != b {
					r.aux.Free()
					return nil, fmt.Errorf("%s: %v: %w: tensor %v does not belong to this backend", b.api, ops[i].Kind(), backend.ErrParams, t)
				}
				d.Bind[slot] = Binding{Mem: m.mem, Off: int64(t.Offset()), Size: bindSize(t)}
				r.used = append(r.used, m)
			}
			d.Bind[SlotAux] = Binding{Mem: aux, Off: auxOff[i], Size: int64(4 * len(plans[i].Aux))}
			r.s.Dispatches = append(r.s.Dispatches, d)
			r.owner = append(r.owner, i)
		}
	}
	return r, nil
}

// submit runs planned ops as one submission.
func (b *Backend) submit(ctx context.Context, ops []backend.Op, plans []Plan, timed bool) ([]float64, error) {
	r, err := b.resolve(ops, plans)
	if err != nil {
		return nil, err
	}
	defer r.aux.Free()
	times, err := b.rt.Submit(ctx, &r.s, timed)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			// The device may still be running: keep these buffers out
			// of the pool; the runtime frees them when it is done.
			r.aux.tainted.Store(true)
			for _, m := range r.used {
				m.tainted.Store(true)
			}
			return nil, err
		}
		return nil, b.wrap("run", err)
	}
	if !timed {
		return nil, nil
	}
	out := make([]float64, len(ops))
	for k, t := range times {
		out[r.owner[k]] += t.Seconds()
	}
	return out, nil
}

// Prepared is ops planned and resolved once, for repeated runs without
// the per-Run work of the backend (planning and checks, the auxiliary
// words, the pool): the baseline of the backend's overhead in benchmarks.
type Prepared struct {
	b *Backend
	r *resolved
}

// Prepare plans ops (none: an empty submission) and uploads their
// auxiliary words. Release the result before the tensors.
func (b *Backend) Prepare(ops []backend.Op) (*Prepared, error) {
	if err := b.enter(); err != nil {
		return nil, err
	}
	defer b.leave()
	plans, err := b.planAll(ops)
	if err != nil {
		return nil, err
	}
	r, err := b.resolve(ops, plans)
	if err != nil {
		return nil, err
	}
	for _, u := range r.s.Uploads {
		if err := u.Mem.Write(u.Off, u.Data); err != nil {
			r.aux.Free()
			return nil, b.wrap("write", err)
		}
	}
	r.s.Uploads = nil
	return &Prepared{b: b, r: r}, nil
}

// Run submits the prepared dispatches and waits for them.
func (p *Prepared) Run(ctx context.Context) error {
	if err := p.b.enter(); err != nil {
		return err
	}
	defer p.b.leave()
	_, err := p.b.rt.Submit(ctx, &p.r.s, false)
	return p.b.wrap("run", err)
}

// Release frees the prepared submission's auxiliary memory.
func (p *Prepared) Release() { p.r.aux.Free() }
