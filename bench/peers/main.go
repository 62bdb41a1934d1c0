package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// config is the parsed command line.
type config struct {
	quick     bool
	threads   []int
	repeat    int
	jsonPath  string
	mdPath    string
	qgpuBin   string
	python    string
	node      string
	skipORT   bool
	skipTorch bool
	verbose   bool
	only      []string // group name prefixes to run (nil: all)
	models    []string // networks of scripts/models.sh to time (none: -models none)
	batches   []int    // their batch sizes
	modelDir  string
}

// suite is the list of shapes of one run.
type suite struct {
	nbits     [][3]int // M, K, N of MatMulNBits (4-bit weights, block 32)
	gemm      [][3]int // M, K, N
	gonum     [3]int   // the GEMM shape whose gonum Sgemm baseline is reported
	conv      convShape
	streamLen int // elements of quantize and dequantize
}

// convShape is one convolution layer: input N x C x H x W, O filters of
// KH x KW, padding Pad on every side, stride 1.
type convShape struct{ N, C, H, W, O, KH, KW, Pad int }

func (c convShape) qgpu() string {
	return fmt.Sprintf("%dx%dx%dx%d,%dx%dx%d,pad%d", c.N, c.C, c.H, c.W, c.O, c.KH, c.KW, c.Pad)
}

// ortConv is the layer bench.js builds for qlinearconv (it takes no shape).
var ortConv = convShape{1, 64, 56, 56, 64, 3, 3, 1}

// nbitsShapes are LLaMA-7B's linear layers (K x N) at M = 1, 16, 128.
var nbitsShapes = func() [][3]int {
	var s [][3]int
	for _, kn := range [][2]int{{4096, 4096}, {4096, 11008}, {11008, 4096}} {
		for _, m := range []int{1, 16, 128} {
			s = append(s, [3]int{m, kn[0], kn[1]})
		}
	}
	return s
}()

var fullSuite = suite{
	nbits:     nbitsShapes,
	gemm:      [][3]int{{1024, 1024, 1024}, {2048, 2048, 2048}, {128, 1024, 1024}, {1, 1024, 1024}},
	gonum:     [3]int{1024, 1024, 1024},
	conv:      ortConv,
	streamLen: 16 << 20,
}

var quickSuite = suite{
	nbits:     [][3]int{{1, 1024, 1024}},
	gemm:      [][3]int{{256, 256, 256}, {1, 256, 256}},
	gonum:     [3]int{256, 256, 256},
	conv:      ortConv, // the only layer the ORT harness builds; it is short
	streamLen: 1 << 20,
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "peers:", err)
		return 2
	}
	if err := compare(cfg, os.Args, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "peers:", err)
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("peers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	threads := fs.String("threads", "1,2", "comma-separated thread counts")
	fs.BoolVar(&c.quick, "quick", false, "small shapes (GEMM 256, 1M-element quantize): a smoke test of the tools")
	fs.IntVar(&c.repeat, "repeat", 1, "run every group this many times and keep each tool's best median")
	fs.StringVar(&c.jsonPath, "json", "", "also write the rows as JSON to `FILE`")
	fs.StringVar(&c.mdPath, "md", "", "also write the markdown table to `FILE`")
	fs.StringVar(&c.qgpuBin, "qgpu", "", "use this qgpu binary instead of building ./cmd/qgpu")
	fs.StringVar(&c.python, "python", "/usr/bin/python3", "Python with torch (Debian: apt-get install python3-torch)")
	fs.StringVar(&c.node, "node", "node", "Node.js binary for the ONNX Runtime peer")
	fs.BoolVar(&c.skipORT, "skip-ort", false, "leave ONNX Runtime out")
	fs.BoolVar(&c.skipTorch, "skip-torch", false, "leave PyTorch out")
	fs.BoolVar(&c.verbose, "v", false, "print every tool command as it runs")
	only := fs.String("only", "", "run only the groups whose name contains one of these comma-separated texts, any case (GEMM, GEMV, conv, quantize, MatMulNBits, model)")
	models := fs.String("models", "resnet50,mobilenet_v2", "networks to time end to end (QDQ models of scripts/models.sh), comma-separated, or none; -quick: none unless given")
	batches := fs.String("batches", "1,8", "batch sizes of the networks (scripts/models.sh writes NAME.qdq.bB.onnx for B in $BATCHES)")
	fs.StringVar(&c.modelDir, "model-dir", "", "directory of the models (default $QGPU_MODELS, else out/models); missing models are built with scripts/models.sh")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./bench/peers [flags]   (from the repository root)\n\n"+
			"Runs qgpu (CPU backend), ONNX Runtime and PyTorch on the same shapes back to back\n"+
			"and prints one markdown table with the ratio qgpu / best peer.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, s := range strings.Split(*threads, ",") {
		t, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || t < 1 || t > 1024 {
			return c, fmt.Errorf("-threads %q: want positive integers separated by commas", *threads)
		}
		if !slices.Contains(c.threads, t) {
			c.threads = append(c.threads, t)
		}
	}
	if c.repeat < 1 {
		return c, fmt.Errorf("-repeat must be at least 1")
	}
	for _, p := range strings.Split(*only, ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.only = append(c.only, p)
		}
	}
	modelsSet := false
	fs.Visit(func(f *flag.Flag) { modelsSet = modelsSet || f.Name == "models" })
	if *models != "none" && *models != "" && (!c.quick || modelsSet) {
		for _, m := range strings.Split(*models, ",") {
			m = strings.TrimSpace(m)
			if m == "" || strings.ContainsAny(m, "/\\ ") {
				return c, fmt.Errorf("-models %q: want model names such as resnet50,mobilenet_v2", *models)
			}
			c.models = append(c.models, m)
		}
	}
	for _, s := range strings.Split(*batches, ",") {
		b, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || b < 1 || b > 1024 {
			return c, fmt.Errorf("-batches %q: want positive integers separated by commas", *batches)
		}
		if !slices.Contains(c.batches, b) {
			c.batches = append(c.batches, b)
		}
	}
	return c, nil
}

// env is what a run found out about the machine and the tools.
type env struct {
	modelDir   string // the networks of scripts/models.sh
	root       string // repository root
	dir        string // bench/peers
	tmp        string
	qgpu       string
	torch      *torchServer
	node       string
	ortVer     string
	nodeVer    string
	torchVer   string
	torchEng   string
	goVer      string
	cpu        cpuInfo
	verbose    bool
	logw       io.Writer
	boundCache map[string]measurement // copyBandwidth, writeBandwidth
}

func compare(cfg config, argv []string, stdout, stderr io.Writer) error {
	s := fullSuite
	if cfg.quick {
		s = quickSuite
	}
	e := &env{verbose: cfg.verbose, logw: stderr, node: cfg.node, boundCache: map[string]measurement{}}
	var err error
	if e.root, err = repoRoot(); err != nil {
		return err
	}
	e.dir = filepath.Join(e.root, "bench", "peers")
	if e.tmp, err = os.MkdirTemp("", "qgpu-peers-"); err != nil {
		return err
	}
	defer os.RemoveAll(e.tmp)
	if err := e.preflight(cfg); err != nil {
		return err
	}
	if e.torch != nil {
		defer e.torch.close()
	}
	e.cpu = readCPUInfo()
	start := time.Now()
	load0 := loadAvg()
	fmt.Fprintf(stderr, "peers: load average at start %s; running %d thread count(s) %v%s\n", load0, len(cfg.threads), cfg.threads,
		map[bool]string{true: " (quick)", false: ""}[cfg.quick])

	var rows []row
	for _, g := range groups(s, cfg) {
		fmt.Fprintf(stderr, "peers: %s ...\n", g.name)
		var best []row
		for rep := 0; rep < cfg.repeat; rep++ {
			b := startBusy(e.torchCPU())
			rs, err := g.run(e)
			if err != nil {
				return fmt.Errorf("%s: %w", g.name, err)
			}
			bg := b.others(e.torchCPU())
			for i := range rs {
				rs[i].BgCores = bg
			}
			best = mergeBest(best, rs)
		}
		modelNotes(best)
		for _, r := range best {
			fmt.Fprintf(stderr, "  %s\n", r.summary())
		}
		rows = append(rows, best...)
	}
	load1 := loadAvg()
	rep := report{
		Date:      start.UTC().Format("2006-01-02 15:04 UTC"),
		Command:   commandLine(argv),
		Machine:   e.cpu.String(),
		Tools:     e.tools(),
		LoadStart: load0,
		LoadEnd:   load1,
		Seconds:   time.Since(start).Seconds(),
		Rows:      rows,
	}
	md := rep.markdown()
	fmt.Fprint(stdout, md)
	if cfg.mdPath != "" {
		if err := os.WriteFile(cfg.mdPath, []byte(md), 0o644); err != nil {
			return err
		}
	}
	if cfg.jsonPath != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(cfg.jsonPath, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// commandLine is how the run was started, for the table header.
func commandLine(argv []string) string {
	cmd := "go run ./bench/peers"
	if len(argv) > 0 && !strings.Contains(argv[0], "go-build") {
		cmd = argv[0]
	}
	if len(argv) > 1 {
		cmd += " " + strings.Join(argv[1:], " ")
	}
	return cmd
}

// repoRoot finds the directory holding the qgpu go.mod, from the working
// directory upwards.
func repoRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/qgpu/qgpu")) {
			if _, err := os.Stat(filepath.Join(d, "bench", "peers", "ort", "bench.js")); err != nil {
				return "", fmt.Errorf("%s has no bench/peers/ort/bench.js", d)
			}
			return d, nil
		}
		p := filepath.Dir(d)
		if p == d {
			return "", fmt.Errorf("run from inside the qgpu repository (no go.mod of github.com/qgpu/qgpu above the working directory)")
		}
		d = p
	}
}

// preflight checks every tool before the long run starts, builds qgpu and
// starts the torch server.
func (e *env) preflight(cfg config) error {
	e.goVer = runtime.Version()
	var problems []string
	if !cfg.skipORT {
		if _, err := exec.LookPath(cfg.node); err != nil {
			problems = append(problems, "Node.js is missing (the ONNX Runtime peer runs on it): apt-get install nodejs npm (Node 16 or later), or pass -skip-ort")
		} else if out, err := exec.Command(cfg.node, "--version").Output(); err == nil {
			e.nodeVer = strings.TrimSpace(string(out))
		}
		pj := filepath.Join(e.dir, "node_modules", "onnxruntime-node", "package.json")
		if b, err := os.ReadFile(pj); err != nil {
			problems = append(problems, "onnxruntime-node is not installed: (cd bench/peers && npm ci --ignore-scripts), or make peers, or pass -skip-ort")
		} else {
			var p struct{ Version string }
			if json.Unmarshal(b, &p) == nil {
				e.ortVer = p.Version
			}
		}
	}
	if !cfg.skipTorch {
		if _, err := exec.LookPath(cfg.python); err != nil {
			problems = append(problems, fmt.Sprintf("%s is missing: apt-get install python3 python3-torch, or pass -skip-torch", cfg.python))
		}
	}
	if len(problems) > 0 {
		return errors.New("missing peers:\n  " + strings.Join(problems, "\n  "))
	}
	if err := e.prepareModels(cfg); err != nil {
		return err
	}
	if cfg.qgpuBin != "" {
		e.qgpu = cfg.qgpuBin
	} else {
		e.qgpu = filepath.Join(e.tmp, "qgpu")
		cmd := exec.Command("go", "build", "-o", e.qgpu, "./cmd/qgpu")
		cmd.Dir = e.root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/qgpu: %v\n%s", err, out)
		}
	}
	if !cfg.skipTorch {
		ts, err := startTorch(cfg.python, filepath.Join(e.dir, "torch_peer.py"))
		if err != nil {
			return err
		}
		e.torch = ts
		// A tiny case checks the engine and gives the version.
		r, err := ts.do(torchReq{Op: "linear", Args: []int{4, 64, 64}, Threads: 1})
		if err != nil {
			ts.close()
			if !strings.Contains(err.Error(), "apt-get") {
				err = fmt.Errorf("%w (apt-get install python3-torch)", err)
			}
			return fmt.Errorf("torch peer: %w; or pass -skip-torch", err)
		}
		e.torchVer, e.torchEng = r.Torch, r.Engine
	}
	return nil
}

func (e *env) tools() string {
	var t []string
	t = append(t, "qgpu (this checkout, "+e.goVer+", backend cpu)")
	if e.ortVer != "" {
		t = append(t, fmt.Sprintf("onnxruntime-node %s (CPU EP, MLAS) on node %s", e.ortVer, e.nodeVer))
	}
	if e.torchVer != "" {
		t = append(t, fmt.Sprintf("PyTorch %s (quantized engine %s)", e.torchVer, e.torchEng))
	}
	return strings.Join(t, "; ")
}

func (e *env) torchCPU() float64 {
	if e.torch == nil {
		return 0
	}
	return e.torch.cpuSeconds()
}

func (e *env) logCmd(name string, args []string) {
	if e.verbose {
		fmt.Fprintf(e.logw, "  $ %s %s\n", name, strings.Join(args, " "))
	}
}

// measurement is one tool's median time for one row.
type measurement struct {
	Tool    string  `json:"tool"` // qgpu, ort, torch, gonum, copy, fill
	What    string  `json:"what"` // the op as the tool names it
	Seconds float64 `json:"seconds"`
	GOPS    float64 `json:"gops,omitempty"`
	GBps    float64 `json:"gbps,omitempty"`
	Runs    int     `json:"runs,omitempty"`
	// WallSeconds is ORT's median session.run() time seen from JS (Seconds
	// is its profiler's kernel time).
	WallSeconds float64 `json:"wall_seconds,omitempty"`
	Note        string  `json:"note,omitempty"`
}

// row is one line of the table: one op, shape and thread count.
type row struct {
	Op      string       `json:"op"`
	Shape   string       `json:"shape"`
	Threads int          `json:"threads"`
	Qgpu    *measurement `json:"qgpu"`
	ORT     *measurement `json:"ort,omitempty"`
	Torch   *measurement `json:"torch,omitempty"`
	Other   *measurement `json:"other,omitempty"` // gonum Sgemm, or nothing
	// Best is the fastest peer; Ratio its time over qgpu's (>1: qgpu faster).
	Best  string  `json:"best,omitempty"`
	Ratio float64 `json:"ratio,omitempty"`
	// Target is the ratio the issue asks for, 0 when none.
	Target float64 `json:"target,omitempty"`
	// Note is a remark on the row (copy share for the streaming ops).
	Note string `json:"note,omitempty"`
	// BgCores is how many cores other processes used, on average, while the
	// row's group ran.
	BgCores float64 `json:"bg_cores"`
}

func (r row) key() string { return fmt.Sprintf("%s|%s|%d", r.Op, r.Shape, r.Threads) }

// peers returns the row's peer measurements that exist.
func (r row) peers() []*measurement {
	var p []*measurement
	for _, m := range []*measurement{r.ORT, r.Torch, r.Other} {
		if m != nil && m.Seconds > 0 {
			p = append(p, m)
		}
	}
	return p
}

// finish sets Best and Ratio from the measurements.
func (r *row) finish() {
	r.Best, r.Ratio = "", 0
	var best *measurement
	for _, m := range r.peers() {
		if best == nil || m.Seconds < best.Seconds {
			best = m
		}
	}
	if best == nil || r.Qgpu == nil || r.Qgpu.Seconds <= 0 {
		return
	}
	r.Best = best.Tool
	r.Ratio = best.Seconds / r.Qgpu.Seconds
}

func (r row) summary() string {
	s := fmt.Sprintf("%-22s %-14s thr %d  qgpu %s", r.Op, r.Shape, r.Threads, cell(r.Qgpu))
	for _, m := range r.peers() {
		s += fmt.Sprintf("  %s %s", m.Tool, cell(m))
	}
	if r.Ratio > 0 {
		s += fmt.Sprintf("  qgpu/best %.2fx", r.Ratio)
	}
	return s
}

// mergeBest keeps, for every row and tool, the lowest median of the
// repeats; rows new to best are appended.
func mergeBest(best, rs []row) []row {
	idx := map[string]int{}
	for i, r := range best {
		idx[r.key()] = i
	}
	pick := func(a, b *measurement) *measurement {
		if a == nil || (b != nil && b.Seconds > 0 && b.Seconds < a.Seconds) {
			return b
		}
		return a
	}
	for _, r := range rs {
		i, ok := idx[r.key()]
		if !ok {
			r.finish()
			idx[r.key()] = len(best)
			best = append(best, r)
			continue
		}
		b := &best[i]
		b.Qgpu, b.ORT, b.Torch, b.Other = pick(b.Qgpu, r.Qgpu), pick(b.ORT, r.ORT), pick(b.Torch, r.Torch), pick(b.Other, r.Other)
		b.BgCores = max(b.BgCores, r.BgCores)
		if r.Note != "" {
			b.Note = r.Note
		}
		b.finish()
	}
	return best
}

// group is a set of rows measured together, back to back.
type group struct {
	name string
	run  func(e *env) ([]row, error)
}

func groups(s suite, cfg config) []group {
	var gs []group
	for _, sh := range s.gemm {
		gs = append(gs, gemmGroup(sh, sh == s.gonum, cfg))
	}
	gs = append(gs, convGroup(s.conv, cfg))
	gs = append(gs, streamGroup("quantize", s.streamLen, cfg), streamGroup("dequantize", s.streamLen, cfg))
	for _, sh := range s.nbits {
		gs = append(gs, nbitsGroup(sh, cfg))
	}
	for _, m := range cfg.models {
		for _, b := range cfg.batches {
			gs = append(gs, modelGroup(m, b, cfg))
		}
	}
	if len(cfg.only) > 0 {
		gs = slices.DeleteFunc(gs, func(g group) bool {
			return !slices.ContainsFunc(cfg.only, func(p string) bool {
				return strings.Contains(strings.ToLower(g.name), strings.ToLower(p))
			})
		})
	}
	return gs
}

// nbitsGroup compares MatMulNBits with 4-bit weights in blocks of 32
// (uint4, no zero points: 8) with ONNX Runtime's at accuracy_level 0
// (float activations) and 4 (int8 activations, against qgpu's int8 mode);
// GEMV rows (M = 1) also give the share of the copy() bound reached: the
// time of a Go copy() of the packed weight and scale bytes over qgpu's.
func nbitsGroup(sh [3]int, cfg config) group {
	m, k, n := sh[0], sh[1], sh[2]
	shape := gemmShape(sh)
	return group{name: "MatMulNBits " + shape, run: func(e *env) ([]row, error) {
		var rows []row
		for _, mode := range []struct {
			op, suffix string
			level      int
		}{{"matmulnbits q4 f32 act", "", 0}, {"matmulnbits q4 int8 act", ",int8", 4}} {
			var ort map[int]measurement
			var err error
			if !cfg.skipORT {
				dims := []string{"--m", strconv.Itoa(m), "--k", strconv.Itoa(k), "--n", strconv.Itoa(n), "--block", "32", "--level", strconv.Itoa(mode.level)}
				if ort, err = e.ort("matmulnbits", dims, cfg.threads); err != nil {
					return nil, err
				}
			}
			for _, t := range cfg.threads {
				q, _, err := e.qgpuRun([]string{"bench", "matmulnbits", "--backend", "cpu", "--threads", strconv.Itoa(t),
					"--shape", shape + ",b32" + mode.suffix, "--json"})
				if err != nil {
					return nil, err
				}
				r := row{Op: mode.op, Shape: shape, Threads: t, Qgpu: &q}
				if x, ok := ort[t]; ok {
					r.ORT = &x
				}
				if m == 1 {
					bytes := (k+31)/32*16*n + (k+31)/32*4*n
					if cp := e.copyBandwidth(bytes, t); cp.Seconds > 0 && q.Seconds > 0 {
						r.Note = fmt.Sprintf("%.0f%% of the copy() bound", 100*cp.Seconds/q.Seconds)
					}
				}
				rows = append(rows, r)
			}
		}
		return rows, nil
	}}
}

func gemmShape(sh [3]int) string { return fmt.Sprintf("%dx%dx%d", sh[0], sh[1], sh[2]) }

func gemmGroup(sh [3]int, gonum bool, cfg config) group {
	m, k, n := sh[0], sh[1], sh[2]
	shape := gemmShape(sh)
	name := "GEMM " + shape
	if m == 1 {
		name = "GEMV " + shape
	}
	return group{name: name, run: func(e *env) ([]row, error) {
		var rows []row
		dims := []string{"--m", strconv.Itoa(m), "--k", strconv.Itoa(k), "--n", strconv.Itoa(n)}
		var ortI, ortQ map[int]measurement
		var err error
		if !cfg.skipORT {
			if ortI, err = e.ort("matmulinteger", dims, cfg.threads); err != nil {
				return nil, err
			}
		}
		for _, t := range cfg.threads {
			args := []string{"bench", "gemm", "--backend", "cpu", "--threads", strconv.Itoa(t), "--shape", shape, "--output", "int32", "--json"}
			if !gonum {
				args = append(args, "--no-f32")
			}
			q, f32, err := e.qgpuRun(args)
			if err != nil {
				return nil, err
			}
			r := row{Op: "gemm u8·s8→i32", Shape: shape, Threads: t, Qgpu: &q}
			if x, ok := ortI[t]; ok {
				r.ORT = &x
			}
			rows = append(rows, r)
			if gonum && f32 != nil {
				r := row{Op: "gemm i8 vs gonum f32", Shape: shape, Threads: t, Qgpu: &q, Other: f32}
				if sh == [3]int{1024, 1024, 1024} {
					r.Target = 50 // the issue: qgpu at least 50x gonum's Sgemm at 1024³
				}
				rows = append(rows, r)
			}
		}
		if !cfg.skipORT {
			if ortQ, err = e.ort("qlinearmatmul", dims, cfg.threads); err != nil {
				return nil, err
			}
		}
		for _, t := range cfg.threads {
			q, _, err := e.qgpuRun([]string{"bench", "gemm", "--backend", "cpu", "--threads", strconv.Itoa(t), "--shape", shape,
				"--output", "quantized", "--json", "--no-f32"})
			if err != nil {
				return nil, err
			}
			r := row{Op: "gemm u8·s8→u8", Shape: shape, Threads: t, Qgpu: &q}
			if x, ok := ortQ[t]; ok {
				r.ORT = &x
			}
			if e.torch != nil {
				x, err := e.torchRun(torchReq{Op: "linear", Args: []int{m, k, n}, Threads: t})
				if err != nil {
					return nil, err
				}
				r.Torch = &x
			}
			rows = append(rows, r)
		}
		return rows, nil
	}}
}

func convGroup(c convShape, cfg config) group {
	shape := c.qgpu()
	return group{name: "conv " + shape, run: func(e *env) ([]row, error) {
		var ortQ map[int]measurement
		var err error
		if !cfg.skipORT && c == ortConv {
			if ortQ, err = e.ort("qlinearconv", []string{"--wtype", "int8"}, cfg.threads); err != nil {
				return nil, err
			}
		}
		var rows []row
		for _, t := range cfg.threads {
			q, _, err := e.qgpuRun([]string{"bench", "conv", "--backend", "cpu", "--threads", strconv.Itoa(t), "--shape", shape,
				"--output", "quantized", "--json", "--no-f32"})
			if err != nil {
				return nil, err
			}
			r := row{Op: "conv u8·s8→u8", Shape: shape, Threads: t, Qgpu: &q}
			if x, ok := ortQ[t]; ok {
				r.ORT = &x
			}
			if e.torch != nil {
				x, err := e.torchRun(torchReq{Op: "conv", Args: []int{c.N, c.C, c.H, c.W, c.O, c.KH, c.KW, c.Pad}, Threads: t})
				if err != nil {
					return nil, err
				}
				r.Torch = &x
			}
			rows = append(rows, r)
		}
		return rows, nil
	}}
}

func streamGroup(op string, size int, cfg config) group {
	shape := sizeName(size)
	ortOp := map[string]string{"quantize": "quantizelinear", "dequantize": "dequantizelinear"}[op]
	return group{name: op + " " + shape, run: func(e *env) ([]row, error) {
		var ortM map[int]measurement
		var err error
		if !cfg.skipORT {
			if ortM, err = e.ort(ortOp, []string{"--size", strconv.Itoa(size), "--qtype", "uint8"}, cfg.threads); err != nil {
				return nil, err
			}
		}
		var rows []row
		for _, t := range cfg.threads {
			q, _, err := e.qgpuRun([]string{"bench", op, "--backend", "cpu", "--threads", strconv.Itoa(t), "--size", strconv.Itoa(size), "--json"})
			if err != nil {
				return nil, err
			}
			label := map[string]string{"quantize": "quantize f32→u8", "dequantize": "dequantize u8→f32"}[op]
			r := row{Op: label, Shape: shape, Threads: t, Qgpu: &q}
			if x, ok := ortM[t]; ok {
				r.ORT = &x
			}
			if e.torch != nil {
				x, err := e.torchRun(torchReq{Op: op, Args: []int{size}, Threads: t})
				if err != nil {
					return nil, err
				}
				r.Torch = &x
			}
			cp := e.copyBandwidth(5*size, t)
			if cp.GBps > 0 && q.GBps > 0 {
				r.Note = fmt.Sprintf("%.0f%% of copy()", 100*q.GBps/cp.GBps)
			}
			var wb measurement
			if op == "dequantize" {
				// Its output, 4 bytes per element, is most of its traffic.
				wb = e.writeBandwidth(4*size, t)
				if wb.Seconds > 0 && q.Seconds > 0 {
					r.Note = strings.TrimPrefix(r.Note+fmt.Sprintf("; writes at %.0f%% of fill", 100*wb.Seconds/q.Seconds), "; ")
				}
			}
			rows = append(rows, r)
			if op == "dequantize" {
				c := cp
				rows = append(rows, row{Op: "copy() (Go, bound)", Shape: sizeName(5*size) + " B", Threads: t, Qgpu: &c,
					Note: "read+write bytes / t, the accounting of the quantize rows"},
					row{Op: "fill (Go, write bound)", Shape: sizeName(4*size) + " B", Threads: t, Qgpu: &wb,
						Note: "non-zero bytes written / t: the memory write rate"})
			}
		}
		return rows, nil
	}}
}

// sizeName prints an element count as 16Mi, 1Mi, 64Ki or the number.
func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMi", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKi", n>>10)
	}
	return strconv.Itoa(n)
}

// qgpuLine is the part of a `qgpu bench --json` line used here.
type qgpuLine struct {
	Op         string  `json:"op"`
	Backend    string  `json:"backend"`
	Shape      string  `json:"shape"`
	Output     string  `json:"output"`
	Threads    int     `json:"threads"`
	Runs       int     `json:"runs"`
	Seconds    float64 `json:"seconds"`
	GOPS       float64 `json:"gops"`
	GBps       float64 `json:"gbps"`
	F32Seconds float64 `json:"f32_seconds"`
	F32GFLOPS  float64 `json:"f32_gflops"`
}

// parseQgpu reads the single result line of a qgpu bench --json run, and
// its gonum Sgemm baseline when the line has one.
func parseQgpu(out []byte) (measurement, *measurement, error) {
	var ls []qgpuLine
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		t := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(t, "{") {
			continue
		}
		var l qgpuLine
		if err := json.Unmarshal([]byte(t), &l); err != nil {
			return measurement{}, nil, fmt.Errorf("qgpu bench: bad JSON line %q: %v", t, err)
		}
		ls = append(ls, l)
	}
	if len(ls) != 1 {
		return measurement{}, nil, fmt.Errorf("qgpu bench: want one JSON result line, have %d in %q", len(ls), out)
	}
	l := ls[0]
	if l.Seconds <= 0 {
		return measurement{}, nil, fmt.Errorf("qgpu bench: no time in %q", out)
	}
	what := l.Op
	if l.Output != "" {
		what += " → " + l.Output
	}
	m := measurement{Tool: "qgpu", What: what, Seconds: l.Seconds, GOPS: l.GOPS, GBps: l.GBps, Runs: l.Runs}
	var f32 *measurement
	if l.F32Seconds > 0 {
		f32 = &measurement{Tool: "gonum", What: "gonum Sgemm f32", Seconds: l.F32Seconds, GOPS: l.F32GFLOPS}
	}
	return m, f32, nil
}

func (e *env) qgpuRun(args []string) (measurement, *measurement, error) {
	e.logCmd("qgpu", args)
	cmd := exec.Command(e.qgpu, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return measurement{}, nil, fmt.Errorf("qgpu %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return parseQgpu(out)
}

// ortLine is the part of a bench.js --json line used here.
type ortLine struct {
	Op         string   `json:"op"`
	Shape      string   `json:"shape"`
	Threads    int      `json:"threads"`
	Runs       int      `json:"runs"`
	WallMS     float64  `json:"wall_median_ms"`
	KernelMS   *float64 `json:"kernel_median_ms"`
	GraphOps   []string `json:"graph_ops"`
	BgCores    *float64 `json:"bg_cores"`
	KernelRate *struct {
		GOPS float64 `json:"gops"`
		GBs  float64 `json:"gbs"`
	} `json:"kernel_rate"`
}

// parseORT reads bench.js --json lines, one per thread count.
func parseORT(out []byte) (map[int]measurement, error) {
	res := map[int]measurement{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		t := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(t, "{") {
			continue
		}
		var l ortLine
		if err := json.Unmarshal([]byte(t), &l); err != nil {
			return nil, fmt.Errorf("ORT bench.js: bad JSON line %q: %v", t, err)
		}
		if l.KernelMS == nil || *l.KernelMS <= 0 {
			return nil, fmt.Errorf("ORT bench.js: no kernel time in %q", t)
		}
		m := measurement{Tool: "ort", What: l.Op + " " + l.Shape, Seconds: *l.KernelMS / 1e3, WallSeconds: l.WallMS / 1e3, Runs: l.Runs}
		if l.KernelRate != nil {
			m.GOPS, m.GBps = l.KernelRate.GOPS, l.KernelRate.GBs
		}
		if len(l.GraphOps) > 0 {
			m.Note = "nodes " + strings.Join(l.GraphOps, "+")
		}
		res[l.Threads] = m
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("ORT bench.js printed no result: %q", out)
	}
	return res, nil
}

func (e *env) ort(op string, extra []string, threads []int) (map[int]measurement, error) {
	ts := make([]string, len(threads))
	for i, t := range threads {
		ts[i] = strconv.Itoa(t)
	}
	args := append([]string{filepath.Join("ort", "bench.js"), "--op", op, "--threads", strings.Join(ts, ","), "--json"}, extra...)
	e.logCmd(e.node, args)
	cmd := exec.Command(e.node, args...)
	cmd.Dir = e.dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("node %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	res, err := parseORT(out)
	if err != nil {
		return nil, err
	}
	for _, t := range threads {
		if _, ok := res[t]; !ok {
			return nil, fmt.Errorf("ORT %s: no result for %d threads", op, t)
		}
	}
	return res, nil
}

// torchReq is one request to torch_peer.py --serve.
type torchReq struct {
	Op      string `json:"op"`
	Args    []int  `json:"args"`
	Threads int    `json:"threads"`
}

// torchResp is its answer.
type torchResp struct {
	Error      string  `json:"error"`
	What       string  `json:"what"`
	Engine     string  `json:"engine"`
	Torch      string  `json:"torch"`
	Runs       int     `json:"runs"`
	Seconds    float64 `json:"seconds"`
	GOPS       float64 `json:"gops"`
	GBps       float64 `json:"gbps"`
	CPUSeconds float64 `json:"cpu_seconds"`
}

// torchServer is one python process serving timing requests, so torch is
// imported once and its cases can sit between the other tools' runs.
type torchServer struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr *bytes.Buffer
	mu     sync.Mutex
	cpu    float64
}

func startTorch(python, script string) (*torchServer, error) {
	cmd := exec.Command(python, script, "--serve")
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	ts := &torchServer{cmd: cmd, in: in, out: bufio.NewReader(out), stderr: &bytes.Buffer{}}
	cmd.Stderr = ts.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %v (apt-get install python3-torch, or pass -skip-torch)", python, err)
	}
	return ts, nil
}

func (ts *torchServer) do(q torchReq) (torchResp, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	b, _ := json.Marshal(q)
	var r torchResp
	if _, err := ts.in.Write(append(b, '\n')); err != nil {
		// The process may have died on import: its first line says why.
		if line, rerr := ts.out.ReadString('\n'); rerr == nil && json.Unmarshal([]byte(line), &r) == nil && r.Error != "" {
			return r, errors.New(r.Error)
		}
		return r, fmt.Errorf("torch_peer.py: %v %s", err, ts.stderr.Bytes())
	}
	line, err := ts.out.ReadString('\n')
	if err != nil {
		return r, fmt.Errorf("torch_peer.py stopped: %v %s", err, ts.stderr.Bytes())
	}
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		return r, fmt.Errorf("torch_peer.py: bad line %q: %v", line, err)
	}
	if r.Error != "" {
		return r, errors.New(r.Error)
	}
	ts.cpu += r.CPUSeconds
	return r, nil
}

func (ts *torchServer) cpuSeconds() float64 {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.cpu
}

func (ts *torchServer) close() {
	ts.in.Close()
	done := make(chan struct{})
	go func() { ts.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		ts.cmd.Process.Kill()
		<-done
	}
}

func (e *env) torchRun(q torchReq) (measurement, error) {
	if e.verbose {
		b, _ := json.Marshal(q)
		fmt.Fprintf(e.logw, "  torch %s\n", b)
	}
	r, err := e.torch.do(q)
	if err != nil {
		return measurement{}, fmt.Errorf("torch %s %v: %w", q.Op, q.Args, err)
	}
	return measurement{Tool: "torch", What: q.Op + " " + r.What, Seconds: r.Seconds, GOPS: r.GOPS, GBps: r.GBps, Runs: r.Runs}, nil
}

// copyBandwidth times Go's copy() of n bytes split over t goroutines (the
// bound for the streaming ops); the rate counts bytes read plus written.
func (e *env) copyBandwidth(n, t int) measurement {
	src := make([]byte, n)
	dst := make([]byte, n)
	for i := range src {
		src[i] = byte(i)
	}
	return e.bound("copy", "Go copy()", n, t, 2, func(lo, hi int) { copy(dst[lo:hi], src[lo:hi]) })
}

// writeBandwidth times filling n bytes with a 1 MiB non-zero pattern
// (copy() from a cached source; runtime.memmove stores copies of 1 MiB and
// more non-temporally, as dequantize does), split over t goroutines: the
// memory write rate, the bound of an op that writes 4 bytes per byte it
// reads. The rate counts bytes written. Not clear(): zero fills ran 3x
// faster than any non-zero store stream on the development VM (87 against
// 28 GB/s), so they bound nothing an op writes.
func (e *env) writeBandwidth(n, t int) measurement {
	dst := make([]byte, n)
	pat := make([]byte, 1<<20)
	for i := range pat {
		pat[i] = byte(i*7 + 1)
	}
	return e.bound("fill", "Go copy() of a 1 MiB pattern", n, t, 1, func(lo, hi int) {
		for o := lo; o < hi; o += len(pat) {
			copy(dst[o:hi], pat)
		}
	})
}

// bound times f over [0, n) split into t ranges on t goroutines, once per
// (tool, n, t) per run; GB/s counts perByte bytes per byte of the range.
func (e *env) bound(tool, what string, n, t int, perByte float64, f func(lo, hi int)) measurement {
	key := fmt.Sprintf("%s/%d/%d", tool, n, t)
	if m, ok := e.boundCache[key]; ok {
		return m
	}
	once := func() {
		var wg sync.WaitGroup
		chunk := (n + t - 1) / t
		for lo := 0; lo < n; lo += chunk {
			hi := min(lo+chunk, n)
			wg.Add(1)
			go func() { defer wg.Done(); f(lo, hi) }()
		}
		wg.Wait()
	}
	prev := runtime.GOMAXPROCS(max(t, runtime.GOMAXPROCS(0)))
	defer runtime.GOMAXPROCS(prev)
	once()
	var ts []float64
	var total float64
	for len(ts) < 5 || (total < 0.3 && len(ts) < 10000) {
		t0 := time.Now()
		once()
		d := time.Since(t0).Seconds()
		ts = append(ts, d)
		total += d
	}
	med := median(ts)
	m := measurement{Tool: tool, What: what, Seconds: med, GBps: perByte * float64(n) / med / 1e9, Runs: len(ts)}
	e.boundCache[key] = m
	return m
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
