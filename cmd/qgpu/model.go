package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/internal/safefile"
	"github.com/qgpu/qgpu/model"
	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/onnx"
	"github.com/qgpu/qgpu/qtensor"
)

func init() {
	register(&command{name: "model", summary: "ONNX models: info, run on .npy files, bench, quantize (post-training), compare", run: cmdModel})
}

const modelAbout = `
Loads a (quantized) ONNX model and lowers it onto a backend: QDQ models
(QuantizeLinear/DequantizeLinear around float ops) and QOperator models
(QLinearConv, ...) run their quantized ops on the engine, the rest in
float32 on the host (see the plan). Outputs are byte-identical on every
backend.

Subcommands:
  info   inputs and outputs (names, types, shapes), op counts and the
         lowering plan: per node, engine ops, fused, or host and why
  run    run one inference on .npy inputs (graph input order, the batch
         size taken from the first input's first dimension) and write the
         outputs (graph output order) as .npy files
  bench  time inferences on random inputs: load cost (parse, plan and
         pack) apart, latency median and spread, and the time per kind of
         node (device time too on GPU backends)
  quantize  post-training quantization of a float model into a QDQ model
         (calibration on .npy batches, error report)
  compare  a QDQ model against its float model: per-tensor SQNR, clipping,
         outputs' SQNR and top-1 agreement

Run 'qgpu model <subcommand> -h' for its flags.`

const modelExamples = `
  qgpu model info --model resnet50_qdq.onnx
  qgpu model run --model resnet50_qdq.onnx --backend vulkan --in x.npy --out y.npy
  qgpu model bench --model mobilenet_v2_qdq.onnx --threads 1 --json`

func cmdModel(args []string, stdout, stderr io.Writer) error {
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: qgpu model <info|run|bench|quantize|compare> [flags]\n\n%s\n\nExamples:\n%s\n", strings.TrimSpace(modelAbout), strings.Trim(modelExamples, "\n"))
	}
	if len(args) == 0 {
		return usagef("model: want a subcommand: info, run, bench, quantize or compare (qgpu model -h)")
	}
	if f, ok := modelSubcommands[args[0]]; ok {
		return f(args[1:], stdout, stderr)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return helpShown
	case "info":
		return cmdModelInfo(args[1:], stdout)
	case "run":
		return cmdModelRun(args[1:], stdout)
	case "bench":
		return cmdModelBench(args[1:], stdout, stderr)
	}
	return usagef("model: unknown subcommand %q (want info, run, bench, quantize or compare)", args[0])
}

// modelFlags are the flags every subcommand takes.
type modelFlags struct {
	path    *string
	backend *string
	threads *int
	batch   *int
}

func addModelFlags(fs *flagSet) modelFlags {
	return modelFlags{
		path:    fs.String("model", "", "ONNX model `FILE` (required)"),
		backend: fs.String("backend", "cpu", "backend: cpu, vulkan, opengl or auto"),
		threads: fs.Int("threads", 0, "CPU worker threads (0: all)"),
		batch:   fs.Int("batch", 0, "batch size `N` for a model with a dynamic batch dimension"),
	}
}

// modelErr classifies a loading or running error by the CLI's rule
// (exitCode): a model file that cannot be read or decoded is bad input
// (2), as are shapes and parameters (ErrShape, ErrParams); an op or
// element type qgpu does not implement, or a backend that cannot run, is
// a failure (1).
func modelErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, onnx.ErrInvalid), errors.Is(err, onnx.ErrLimit), errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
		return asUsage(err)
	}
	return err
}

// loadTimes is what loading cost: decoding the file and building the
// graph, then planning (which uploads the weights and records every
// engine step once).
type loadTimes struct {
	Parse float64 `json:"parse_ms"`
	Plan  float64 `json:"plan_ms"`
}

// openModel decodes, builds and plans the model of the flags.
func openModel(f modelFlags, batch int) (*model.Model, loadTimes, error) {
	var lt loadTimes
	if *f.path == "" {
		return nil, lt, usagef("model: --model is required")
	}
	if *f.threads < 0 {
		return nil, lt, usagef("model: --threads %d must be >= 0", *f.threads)
	}
	if *f.backend != "auto" && !slices.Contains(engine.Backends(), *f.backend) {
		return nil, lt, usagef("model: unknown backend %q (compiled in: %s)", *f.backend, strings.Join(engine.Backends(), ", "))
	}
	if batch == 0 {
		batch = *f.batch
	}
	start := time.Now()
	mp, err := onnx.Load(*f.path, onnx.DecodeOptions{})
	if err != nil {
		return nil, lt, modelErr(fmt.Errorf("model: %w", err))
	}
	g, err := graph.FromONNX(mp, graph.Options{Batch: batch})
	if err != nil {
		if batch == 0 && errors.Is(err, engine.ErrShape) && strings.Contains(err.Error(), "Options.Batch") {
			err = fmt.Errorf("%w (give the batch size with --batch)", err)
		}
		return nil, lt, modelErr(fmt.Errorf("model: %s: %w", *f.path, err))
	}
	lt.Parse = ms(time.Since(start))
	start = time.Now()
	m, err := model.FromGraph(g, model.Options{Config: engine.Config{Backend: *f.backend, Threads: *f.threads},
		Workers: *f.threads})
	if err != nil {
		return nil, lt, modelErr(err)
	}
	lt.Plan = ms(time.Since(start))
	return m, lt, nil
}

func ms(d time.Duration) float64 { return d.Seconds() * 1e3 }

// --- info ---

const modelInfoAbout = `
Prints the model's inputs and outputs (names, element types, shapes with
the batch size fixed), the number of nodes per op type, and the lowering
plan on --backend: per node, the engine ops it became, the node it was
fused into, or why it runs on the host. --json prints one object with the
same content.`

type infoValue struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
}

type infoJSON struct {
	Model       string           `json:"model"`
	Backend     string           `json:"backend"`
	Inputs      []infoValue      `json:"inputs"`
	Outputs     []infoValue      `json:"outputs"`
	OpCounts    map[string]int   `json:"op_counts"`
	EngineOps   map[string]int   `json:"engine_ops"`
	Placement   map[string]int   `json:"placement"`
	Submissions int              `json:"submissions"`
	Plan        []model.NodePlan `json:"plan"`
}

func valuesJSON(v []model.ValueInfo) []infoValue {
	out := make([]infoValue, len(v))
	for i, x := range v {
		out[i] = infoValue{Name: x.Name, DType: x.DType.String(), Shape: x.Shape}
	}
	return out
}

func cmdModelInfo(args []string, stdout io.Writer) error {
	fs := newFlagSet("model info", "qgpu model info --model M.onnx [--backend B] [--json]", modelInfoAbout, modelExamples, stdout)
	f := addModelFlags(fs)
	asJSON := fs.Bool("json", false, "print one JSON object")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("model info: unexpected argument %q", pos[0])
	}
	m, _, err := openModel(f, 0)
	if err != nil {
		return err
	}
	defer m.Close()
	p := m.Plan()
	info := infoJSON{Model: *f.path, Backend: m.Engine().Backend().Name(), Inputs: valuesJSON(m.Inputs()), Outputs: valuesJSON(m.Outputs()),
		OpCounts: map[string]int{}, EngineOps: p.EngineOps(), Placement: map[string]int{}, Submissions: p.Submissions, Plan: p.Nodes}
	for _, n := range p.Nodes {
		info.OpCounts[n.OpType]++
	}
	for w, c := range p.Counts() {
		info.Placement[w.String()] = c
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(info)
	}
	fmt.Fprintf(stdout, "model %s on %s (%s)\n", *f.path, info.Backend, m.Engine().Device().Name)
	for _, io := range []struct {
		what string
		v    []infoValue
	}{{"input", info.Inputs}, {"output", info.Outputs}} {
		for _, v := range io.v {
			fmt.Fprintf(stdout, "%-6s %s %s%v\n", io.what, v.Name, v.DType, v.Shape)
		}
	}
	fmt.Fprintf(stdout, "ops: %s\n", formatCounts(info.OpCounts))
	fmt.Fprintf(stdout, "plan: %s; engine ops per inference: %s; %d engine submission(s) per inference\n",
		formatCounts(info.Placement), formatCounts(info.EngineOps), p.Submissions)
	fmt.Fprint(stdout, p.String())
	return nil
}

// formatCounts prints "a 3, b 1" sorted by count then name.
func formatCounts(c map[string]int) string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if c[keys[i]] != c[keys[j]] {
			return c[keys[i]] > c[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, c[k])
	}
	return strings.Join(parts, ", ")
}

// --- run ---

const modelRunAbout = `
Runs one inference: --in gives the graph inputs in the model's input
order as .npy files of their element types (float32 for the usual float
inputs), the batch size taken from the first input's first dimension;
--out names one .npy file per graph output, in output order ("none" skips
one). Outputs keep their element types (float32, or uint8/int8 for a
quantized output).`

func cmdModelRun(args []string, stdout io.Writer) error {
	fs := newFlagSet("model run", "qgpu model run --model M.onnx [--backend B] --in X.npy [--in ...] --out Y.npy [--out ...]", modelRunAbout, modelExamples, stdout)
	f := addModelFlags(fs)
	var ins, outs stringList
	fs.Var(&ins, "in", "input `FILE` (.npy), once per graph input in order")
	fs.Var(&outs, "out", "output `FILE` (.npy, .qt or .safetensors by its extension, or none), once per graph output in order")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("model run: unexpected argument %q", pos[0])
	}
	if len(ins) == 0 || len(outs) == 0 {
		return usagef("model run: --in and --out are required (qgpu model run -h)")
	}
	tensors := make([]*graph.Tensor, len(ins))
	for i, p := range ins {
		q, err := qtensor.LoadNPY(p)
		if err != nil {
			return usagef("model run: --in %s: %v", p, err)
		}
		if tensors[i], err = graph.FromQTensor(q); err != nil {
			return usagef("model run: --in %s: %v", p, err)
		}
	}
	batch := 0
	if len(tensors[0].Shape) > 0 && *f.batch == 0 {
		batch = tensors[0].Shape[0]
	}
	m, _, err := openModel(f, batch)
	if err != nil {
		return err
	}
	defer m.Close()
	if len(ins) != len(m.Inputs()) {
		return usagef("model run: %d --in given, the model has %d inputs (%s)", len(ins), len(m.Inputs()), describeValues(m.Inputs()))
	}
	if len(outs) != len(m.Outputs()) {
		return usagef("model run: %d --out given, the model has %d outputs (%s)", len(outs), len(m.Outputs()), describeValues(m.Outputs()))
	}
	named := make([]model.NamedTensor, len(tensors))
	for i, t := range tensors {
		named[i] = model.NamedTensor{Tensor: t}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	formats := make([]fileFormat, len(outs))
	for i, o := range outs {
		if o == "none" {
			continue
		}
		if formats[i], err = outputFormat("model run", "--out "+o, o, nil, runOutFormats...); err != nil {
			return err
		}
		if err := sameFileErr("model run", o, ins...); err != nil {
			return err
		}
		for _, o2 := range outs[i+1:] {
			if o2 != "none" && (o2 == o || safefile.Same(o, o2)) {
				return usagef("model run: --out %s given twice", o)
			}
		}
	}
	res, err := m.Run(ctx, named)
	if err != nil {
		return modelErr(fmt.Errorf("model run: %w", err))
	}
	// All outputs or none (safefile.Set).
	var set safefile.Set
	defer set.Abort()
	for i, r := range res {
		if outs[i] == "none" {
			continue
		}
		q, err := toQTensor(r.Tensor)
		if err != nil {
			return fmt.Errorf("model run: output %s: %w", r.Name, err)
		}
		if err := set.Add(outs[i], encoder(formats[i], r.Name, q)); err != nil {
			return fmt.Errorf("model run: output %s: %w", r.Name, err)
		}
	}
	if err := set.Commit(); err != nil {
		return fmt.Errorf("model run: %w", err)
	}
	return nil
}

func describeValues(v []model.ValueInfo) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = x.String()
	}
	return strings.Join(s, ", ")
}

// toQTensor converts an output for writing as .npy.
func toQTensor(t *graph.Tensor) (*qtensor.Tensor, error) {
	switch t.DType {
	case graph.Float32:
		return qtensor.FromFloat32(t.Shape, t.F32)
	case graph.Int32:
		return qtensor.FromInt32(t.Shape, t.I32)
	case graph.Uint8, graph.Int8:
		d := qtensor.Uint8
		if t.DType == graph.Int8 {
			d = qtensor.Int8
		}
		q, err := qtensor.New(d, t.Shape, qtensor.TensorParams(1, 0))
		if err != nil {
			return nil, err
		}
		for i := range q.Data {
			if d == qtensor.Int8 {
				q.Data[i] = byte(t.I8[i])
			} else {
				q.Data[i] = t.U8[i]
			}
		}
		return q, nil
	}
	return nil, fmt.Errorf("%v outputs cannot be written as .npy here", t.DType)
}

// --- bench ---

const modelBenchAbout = `
Loads the model (reporting the parse time - decoding and building the
graph - and the plan time - planning, uploading the weights and
recording every engine step once - apart), runs --warmup inferences
(the first one also packs the weights on the CPU backend: reported as
first_run), then --runs timed inferences on fixed random inputs
(uniform in [-1, 1), or --in files) and reports the latency median,
minimum, maximum and median absolute deviation. Then --profile
inferences with each engine step submitted alone give the time per kind
of work (engine op kinds, host op types, transfers), with the device
time on GPU backends. --threads sets the CPU backend's workers, the host
kernels' goroutines and GOMAXPROCS.`

type benchKind struct {
	Kind     string  `json:"kind"`
	Where    string  `json:"where"`
	Count    int     `json:"count"`
	WallMS   float64 `json:"wall_ms"`
	DeviceMS float64 `json:"device_ms"`
	Share    float64 `json:"share"` // of the profiled steps' summed wall time
	// MinMS sums, over the kind's steps, each step's least wall time in
	// the profiled inferences: robust against other load; MinShare is its
	// share of all steps' minima.
	MinMS    float64 `json:"min_ms"`
	MinShare float64 `json:"min_share"`
}

// benchNode is one step of the profiled inference (model.ProfileNode),
// its times averaged over the profiled runs.
type benchNode struct {
	Node     string  `json:"node"`
	Ops      string  `json:"ops"`
	Where    string  `json:"where"`
	WallMS   float64 `json:"wall_ms"`
	DeviceMS float64 `json:"device_ms"`
}

type modelBenchJSON struct {
	Model       string      `json:"model"`
	Backend     string      `json:"backend"`
	Device      string      `json:"device"`
	Threads     int         `json:"threads"`
	Batch       int         `json:"batch"`
	Load        loadTimes   `json:"load"`
	FirstRunMS  float64     `json:"first_run_ms"`
	Runs        int         `json:"runs"`
	MedianMS    float64     `json:"median_ms"`
	MinMS       float64     `json:"min_ms"`
	MaxMS       float64     `json:"max_ms"`
	MADMS       float64     `json:"mad_ms"`
	Submissions int         `json:"submissions"`
	EngineNodes int         `json:"engine_nodes"`
	HostNodes   int         `json:"host_nodes"`
	Profile     []benchKind `json:"profile"`
	ProfileMS   float64     `json:"profile_ms"`
	Nodes       []benchNode `json:"nodes,omitempty"`
}

func cmdModelBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("model bench", "qgpu model bench --model M.onnx [--backend B] [--threads N] [--json]", modelBenchAbout, modelExamples, stdout)
	f := addModelFlags(fs)
	runs := fs.Int("runs", 20, "timed inferences (0: as many as fill about 1 s, at least 10)")
	warmup := fs.Int("warmup", 2, "untimed inferences first (>= 1)")
	profile := fs.Int("profile", 3, "profiled inferences for the per-kind times (0: none)")
	nodes := fs.Int("nodes", 0, "list the `N` slowest steps of the profiled inferences (JSON: every step, in order; -1: every step)")
	var ins stringList
	fs.Var(&ins, "in", "input `FILE` (.npy) instead of random data, once per graph input in order")
	asJSON := fs.Bool("json", false, "print one JSON object")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("model bench: unexpected argument %q", pos[0])
	}
	if *runs < 0 || *warmup < 1 || *profile < 0 || *nodes < -1 {
		return usagef("model bench: --runs must be >= 0, --warmup >= 1, --profile >= 0, --nodes >= -1")
	}
	if *nodes != 0 && *profile == 0 {
		return usagef("model bench: --nodes needs --profile >= 1")
	}
	if *f.threads > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(*f.threads))
	}
	var given []*graph.Tensor
	for _, p := range ins {
		q, err := qtensor.LoadNPY(p)
		if err != nil {
			return usagef("model bench: --in %s: %v", p, err)
		}
		t, err := graph.FromQTensor(q)
		if err != nil {
			return usagef("model bench: --in %s: %v", p, err)
		}
		given = append(given, t)
	}
	batch := 0
	if len(given) > 0 && len(given[0].Shape) > 0 && *f.batch == 0 {
		batch = given[0].Shape[0]
	}
	m, lt, err := openModel(f, batch)
	if err != nil {
		return err
	}
	defer m.Close()
	named := make([]model.NamedTensor, len(m.Inputs()))
	if len(given) > 0 && len(given) != len(named) {
		return usagef("model bench: %d --in given, the model has %d inputs", len(given), len(named))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i, v := range m.Inputs() {
		if len(given) > 0 {
			named[i].Tensor = given[i]
			continue
		}
		if v.DType != graph.Float32 {
			return usagef("model bench: input %s is %v; give it with --in", v.Name, v.DType)
		}
		t, err := graph.NewTensor(graph.Float32, v.Shape)
		if err != nil {
			return asUsage(err)
		}
		for k := range t.F32 {
			t.F32[k] = rng.Float32()*2 - 1
		}
		named[i].Tensor = t
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res := modelBenchJSON{Model: *f.path, Backend: m.Engine().Backend().Name(), Device: m.Engine().Device().Name,
		Threads: *f.threads, Load: lt, Runs: *runs, Submissions: m.Plan().Submissions}
	if res.Threads == 0 {
		res.Threads = runtime.GOMAXPROCS(0)
	}
	if len(m.Inputs()) > 0 && len(m.Inputs()[0].Shape) > 0 {
		res.Batch = m.Inputs()[0].Shape[0]
	}
	c := m.Plan().Counts()
	res.EngineNodes, res.HostNodes = c[model.OnEngine], c[model.OnHost]
	for i := 0; i < *warmup; i++ {
		start := time.Now()
		if _, err := m.Run(ctx, named); err != nil {
			return modelErr(fmt.Errorf("model bench: %w", err))
		}
		if i == 0 {
			res.FirstRunMS = ms(time.Since(start))
		}
	}
	var lat []float64
	for begin := time.Now(); ; {
		if *runs > 0 && len(lat) == *runs || *runs == 0 && len(lat) >= 10 && time.Since(begin) >= time.Second {
			break
		}
		start := time.Now()
		if _, err := m.Run(ctx, named); err != nil {
			return modelErr(fmt.Errorf("model bench: %w", err))
		}
		lat = append(lat, ms(time.Since(start)))
	}
	res.Runs = len(lat)
	sort.Float64s(lat)
	res.MedianMS, res.MinMS, res.MaxMS = sortedMedian(lat), lat[0], lat[len(lat)-1]
	dev := make([]float64, len(lat))
	for i, v := range lat {
		dev[i] = math.Abs(v - res.MedianMS)
	}
	sort.Float64s(dev)
	res.MADMS = sortedMedian(dev)
	if *profile > 0 {
		kinds := map[string]*benchKind{}
		var stepMin []float64 // each step's least wall time
		var stepKind []string
		for i := 0; i < *profile; i++ {
			p, _, err := m.Profile(ctx, named)
			if err != nil {
				return modelErr(fmt.Errorf("model bench: %w", err))
			}
			if stepMin == nil {
				for _, n := range p.Nodes {
					stepMin = append(stepMin, n.Wall)
					stepKind = append(stepKind, n.Where+"/"+n.Kind)
				}
			}
			for j, n := range p.Nodes[:min(len(p.Nodes), len(stepMin))] {
				stepMin[j] = min(stepMin[j], n.Wall)
			}
			res.ProfileMS += p.Wall * 1e3 / float64(*profile)
			if *nodes != 0 {
				if res.Nodes == nil {
					res.Nodes = make([]benchNode, len(p.Nodes))
				}
				for j, n := range p.Nodes[:min(len(p.Nodes), len(res.Nodes))] {
					r := &res.Nodes[j]
					r.Node, r.Ops, r.Where = n.Node, n.Ops, n.Where
					r.WallMS += n.Wall * 1e3 / float64(*profile)
					r.DeviceMS += n.Device * 1e3 / float64(*profile)
				}
			}
			for _, e := range p.Entries {
				k := kinds[e.Where+"/"+e.Kind]
				if k == nil {
					k = &benchKind{Kind: e.Kind, Where: e.Where, Count: e.Count}
					kinds[e.Where+"/"+e.Kind] = k
				}
				k.WallMS += e.Wall * 1e3 / float64(*profile)
				k.DeviceMS += e.Device * 1e3 / float64(*profile)
			}
		}
		minTotal := 0.0
		for j, v := range stepMin {
			if k := kinds[stepKind[j]]; k != nil {
				k.MinMS += v * 1e3
				minTotal += v * 1e3
			}
		}
		total := 0.0
		for _, k := range kinds {
			total += k.WallMS
		}
		for _, k := range kinds {
			if total > 0 {
				k.Share = k.WallMS / total
			}
			if minTotal > 0 {
				k.MinShare = k.MinMS / minTotal
			}
			res.Profile = append(res.Profile, *k)
		}
		sort.Slice(res.Profile, func(i, j int) bool { return res.Profile[i].WallMS > res.Profile[j].WallMS })
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "model %s on %s (%s), %d threads, batch %d\n", res.Model, res.Backend, res.Device, res.Threads, res.Batch)
	fmt.Fprintf(stdout, "load: parse %.1f ms, plan+upload %.1f ms; first run %.2f ms\n", lt.Parse, lt.Plan, res.FirstRunMS)
	fmt.Fprintf(stdout, "plan: %d engine nodes, %d host nodes, %d submission(s) per inference\n", res.EngineNodes, res.HostNodes, res.Submissions)
	fmt.Fprintf(stdout, "latency over %d runs: median %.3f ms, ±%.3f ms (MAD), min %.3f ms, max %.3f ms\n", res.Runs, res.MedianMS, res.MADMS, res.MinMS, res.MaxMS)
	if len(res.Profile) > 0 {
		fmt.Fprintf(stdout, "profile (each engine step submitted alone; %.3f ms per inference; wall: mean per inference, min: each step's least time summed):\n", res.ProfileMS)
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "where\tkind\tcount\twall ms\tshare\tmin ms\tshare\tdevice ms\t\n")
		for _, k := range res.Profile {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.3f\t%.1f%%\t%.3f\t%.1f%%\t%.3f\t\n", k.Where, k.Kind, k.Count, k.WallMS, 100*k.Share, k.MinMS, 100*k.MinShare, k.DeviceMS)
		}
		tw.Flush()
	}
	if len(res.Nodes) > 0 {
		top := slices.Clone(res.Nodes)
		sort.SliceStable(top, func(i, j int) bool { return top[i].WallMS > top[j].WallMS })
		if *nodes > 0 {
			top = top[:min(*nodes, len(top))]
		}
		fmt.Fprintf(stdout, "slowest steps (each submitted alone):\n")
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "wall ms\tdevice ms\tnode\tops\n")
		for _, n := range top {
			fmt.Fprintf(tw, "%.3f\t%.3f\t%s\t%s\n", n.WallMS, n.DeviceMS, n.Node, n.Ops)
		}
		tw.Flush()
	}
	return nil
}

// sortedMedian is the median of sorted values.
func sortedMedian(s []float64) float64 {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
