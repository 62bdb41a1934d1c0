package model

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/onnx"
	"github.com/qgpu/qgpu/onnx/onnxpb"
)

// Sentinel errors, shared with the rest of qgpu: test with errors.Is.
var (
	ErrShape       = engine.ErrShape
	ErrParams      = engine.ErrParams
	ErrUnsupported = engine.ErrUnsupported
	ErrClosed      = engine.ErrClosed
)

// Tensor is a host tensor: inputs and outputs of Run (package graph's
// dense row-major tensor).
type Tensor = graph.Tensor

// NamedTensor is a tensor with the name of the graph input or output it
// stands for.
type NamedTensor struct {
	Name   string
	Tensor *Tensor
}

// ValueInfo describes a graph input or output: its name, element type and
// the concrete shape it has in this model (the batch size fixed at load).
type ValueInfo struct {
	Name  string
	DType graph.DType
	Shape []int
}

func (v ValueInfo) String() string { return fmt.Sprintf("%s %v%v", v.Name, v.DType, v.Shape) }

// Options configure Load, Read and FromONNX. The zero value loads a model
// with a static batch size onto an engine of its own on the "auto" backend
// (the CPU backend unless a hardware GPU is there). As with package
// engine, the program imports the backends it wants registered:
//
//	import _ "github.com/qgpu/qgpu/backends/cpu"
type Options struct {
	// Engine, if set, runs the quantized ops. The caller owns it: Close
	// releases the model's tensors but leaves the engine open, and the
	// engine must outlive the model.
	Engine *engine.Engine
	// Config opens the engine the model owns (and closes in Close) when
	// Engine is nil: the backend name ("" or "auto", "cpu", "vulkan",
	// "opengl") and its options (threads, device, kernels).
	Config engine.Config
	// Batch is the size of dimension 0 of every input whose dimension 0 is
	// symbolic or unknown. Zero takes each input's static dimension 0; a
	// model with a dynamic batch dimension then fails to load with an
	// error asking for Batch.
	Batch int
	// Decode bounds the decoding of the ONNX file (see onnx.DecodeOptions;
	// Load resolves external data next to the file).
	Decode onnx.DecodeOptions
	// MaxElements bounds the element count of every tensor (0:
	// graph.DefaultMaxElements).
	MaxElements int
	// Workers bounds the goroutines of the host (float fallback) kernels
	// (0: GOMAXPROCS). Results do not depend on it.
	Workers int
	// NCHW keeps every activation on the device in the graph's NCHW
	// layout. By default 4-D activations that only convolutions, pools and
	// elementwise engine ops make and read are stored channels-last
	// (NHWC), which spares the CPU backend's kernels a layout change per
	// layer; the outputs are the same bytes either way.
	NCHW bool
}

// Model is a loaded ONNX model lowered onto an engine: its weights
// quantized, packed and uploaded once, its nodes grouped into engine ops
// (quantized) and host ops (float fallback) by a plan fixed at load.
//
// A Model is safe for concurrent use: any number of Runs may proceed at
// once (each on its own executor, which owns its activations; the
// weights are shared read-only). The model keeps up to max(2,
// GOMAXPROCS) idle executors between Runs. Close waits for running Runs
// to return.
type Model struct {
	g       *graph.Graph
	eng     *engine.Engine
	ownsEng bool
	workers int

	plan   *plan
	report Plan

	inputs, outputs []ValueInfo

	mu     sync.RWMutex // held for reading by Run, for writing by Close
	closed bool

	xmu  sync.Mutex  // guards idle
	idle []*executor // executors waiting for the next Run
	pmu  sync.Mutex  // guards prof and serializes Profiles
	prof *executor   // Profile's executor (each step a batch), made by the first Profile
}

// Load reads an ONNX model file (external data resolved in its
// directory) and prepares it for running: see FromONNX.
func Load(path string, opts Options) (*Model, error) {
	m, err := onnx.Load(path, opts.Decode)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	return FromONNX(m, opts)
}

// Read reads an ONNX model from r (at most opts.Decode.MaxBytes; external
// data only with opts.Decode.Dir) and prepares it: see FromONNX.
func Read(r io.Reader, opts Options) (*Model, error) {
	m, err := onnx.Read(r, opts.Decode)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	return FromONNX(m, opts)
}

// FromONNX builds a decoded ONNX model's graph (shape inference with the
// batch size fixed, constant folding; see package graph), plans its
// lowering onto the engine, and uploads its weights. The plan is fixed
// from then on: see Plan.
func FromONNX(m *onnxpb.ModelProto, opts Options) (*Model, error) {
	g, err := graph.FromONNX(m, graph.Options{Batch: opts.Batch, MaxElements: opts.MaxElements})
	if err != nil {
		if opts.Batch == 0 && errors.Is(err, ErrShape) && strings.Contains(err.Error(), "Options.Batch") {
			return nil, fmt.Errorf("model: %w (a dynamic batch dimension needs Options.Batch)", err)
		}
		return nil, fmt.Errorf("model: %w", err)
	}
	return FromGraph(g, opts)
}

// FromGraph prepares a built graph (graph.Build, graph.FromONNX) for
// running: see FromONNX. opts.Batch, Decode and MaxElements are not used
// (the graph's shapes are fixed already). The model keeps g, which must
// not be modified.
func FromGraph(g *graph.Graph, opts Options) (*Model, error) {
	if g == nil || !g.Built() {
		return nil, fmt.Errorf("model: %w: graph not built", ErrParams)
	}
	md := &Model{g: g, eng: opts.Engine, workers: opts.Workers}
	if md.eng == nil {
		e, err := engine.New(opts.Config)
		if err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
		md.eng, md.ownsEng = e, true
	}
	for _, in := range g.Inputs {
		md.inputs = append(md.inputs, ValueInfo{Name: in.Name, DType: g.Values[in.Name].DType, Shape: slices.Clone(g.Values[in.Name].Shape)})
	}
	for _, out := range g.Outputs {
		md.outputs = append(md.outputs, ValueInfo{Name: out.Name, DType: g.Values[out.Name].DType, Shape: slices.Clone(g.Values[out.Name].Shape)})
	}
	p, err := newPlan(g, md.eng, opts.NCHW)
	if err != nil {
		md.closeEngine()
		return nil, fmt.Errorf("model: %w", err)
	}
	md.plan = p
	md.report = p.report()
	return md, nil
}

func (md *Model) closeEngine() {
	if md.ownsEng {
		md.eng.Close()
	}
}

// Inputs describes the graph inputs a Run takes, in graph order.
func (md *Model) Inputs() []ValueInfo { return cloneInfos(md.inputs) }

// Outputs describes the graph outputs a Run returns, in graph order.
func (md *Model) Outputs() []ValueInfo { return cloneInfos(md.outputs) }

func cloneInfos(v []ValueInfo) []ValueInfo {
	out := make([]ValueInfo, len(v))
	for i, x := range v {
		out[i] = ValueInfo{Name: x.Name, DType: x.DType, Shape: slices.Clone(x.Shape)}
	}
	return out
}

// Engine returns the engine the model runs on.
func (md *Model) Engine() *engine.Engine { return md.eng }

// Graph returns the model's built graph (read-only).
func (md *Model) Graph() *graph.Graph { return md.g }

// Plan returns the lowering plan: per node, where it runs and why.
func (md *Model) Plan() Plan { return md.report.clone() }

// Run runs one inference. inputs are either all unnamed, one per graph
// input in graph order (Inputs), or all named, one per graph input in any
// order; each must have the input's element type and shape. The outputs
// come back in graph order with their names, as fresh host tensors the
// caller owns. ctx is checked between steps and inside long ones; a
// cancelled Run returns ctx.Err().
//
// A Run takes an executor - the model's engine ops recorded once, on
// device activations allocated once - from the model's idle ones, or
// makes one (the first Run, and every Run that overlaps others), and
// gives it back for the next Run: runs after the first record and
// allocate nothing on the device. A failed Run releases its executor.
func (md *Model) Run(ctx context.Context, inputs []NamedTensor) ([]NamedTensor, error) {
	ctx, ins, done, err := md.enter(ctx, inputs)
	if err != nil {
		return nil, err
	}
	defer done()
	x, err := md.takeExecutor()
	if err != nil {
		return nil, err
	}
	out, err := x.run(ctx, ins, nil)
	if err != nil {
		// Whatever failed (a cancelled batch, a lost device) may have left
		// the executor's tensors half written or unusable: drop it.
		x.release()
		return nil, err
	}
	md.putExecutor(x)
	return out, nil
}

// RunMap is Run with inputs and outputs keyed by name.
func (md *Model) RunMap(ctx context.Context, inputs map[string]*Tensor) (map[string]*Tensor, error) {
	in := make([]NamedTensor, 0, len(inputs))
	for name, t := range inputs {
		in = append(in, NamedTensor{Name: name, Tensor: t})
	}
	out, err := md.Run(ctx, in)
	if err != nil {
		return nil, err
	}
	res := make(map[string]*Tensor, len(out))
	for _, o := range out {
		res[o.Name] = o.Tensor
	}
	return res, nil
}

// enter begins an inference: ctx (nil: Background), the inputs ordered
// and checked, and the model held open (Close waits) until done is
// called. It fails once the model is closed.
func (md *Model) enter(ctx context.Context, inputs []NamedTensor) (context.Context, []*Tensor, func(), error) {
	if ctx == nil {
		ctx = context.Background()
	}
	md.mu.RLock()
	if md.closed {
		md.mu.RUnlock()
		return nil, nil, nil, fmt.Errorf("model: %w", ErrClosed)
	}
	ins, err := md.orderInputs(inputs)
	if err != nil {
		md.mu.RUnlock()
		return nil, nil, nil, err
	}
	return ctx, ins, md.mu.RUnlock, nil
}

// orderInputs maps the caller's inputs onto the graph inputs.
func (md *Model) orderInputs(inputs []NamedTensor) ([]*Tensor, error) {
	if len(inputs) != len(md.inputs) {
		return nil, fmt.Errorf("model: %w: %d inputs given, the model takes %d (%s)", ErrParams, len(inputs), len(md.inputs), describe(md.inputs))
	}
	named := 0
	for _, in := range inputs {
		if in.Name != "" {
			named++
		}
	}
	out := make([]*Tensor, len(md.inputs))
	switch named {
	case 0:
		for i, in := range inputs {
			out[i] = in.Tensor
		}
	case len(inputs):
		for _, in := range inputs {
			k := slices.IndexFunc(md.inputs, func(v ValueInfo) bool { return v.Name == in.Name })
			if k < 0 {
				return nil, fmt.Errorf("model: %w: the model has no input %q (%s)", ErrParams, in.Name, describe(md.inputs))
			}
			if out[k] != nil {
				return nil, fmt.Errorf("model: %w: input %q given twice", ErrParams, in.Name)
			}
			out[k] = in.Tensor
		}
	default:
		return nil, fmt.Errorf("model: %w: name all inputs or none", ErrParams)
	}
	for i, t := range out {
		if err := md.g.CheckInput(md.inputs[i].Name, t); err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
	}
	return out, nil
}

func describe(v []ValueInfo) string {
	s := ""
	for i, x := range v {
		if i > 0 {
			s += ", "
		}
		s += x.String()
	}
	return s
}

// Close releases every device tensor of the model (its weights) and, if
// the model opened its engine, the engine. It waits for running Runs to
// return; later Runs fail with an error wrapping ErrClosed. Safe to call
// twice.
func (md *Model) Close() error {
	md.mu.Lock()
	defer md.mu.Unlock()
	if md.closed {
		return nil
	}
	md.closed = true
	md.releaseExecutors()
	md.pmu.Lock()
	if md.prof != nil {
		md.prof.release()
		md.prof = nil
	}
	md.pmu.Unlock()
	md.plan.release()
	if md.ownsEng {
		return md.eng.Close()
	}
	return nil
}
