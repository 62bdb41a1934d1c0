package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Whole networks: the QDQ models of scripts/models.sh (torchvision
// ResNet-50 and MobileNetV2 quantized as ONNX Runtime's quantize_static
// does), the same .onnx file run by `qgpu model bench` and by ONNX
// Runtime's run_model.js, interleaved per thread count; both report the
// median wall time of one inference (float input in, float output out).

// modelFile is the file of network name at batch size b: NAME.qdq.onnx for
// the batch it was exported with (1), NAME.qdq.bB.onnx otherwise.
func (e *env) modelFile(name string, b int) string {
	if b == 1 {
		return filepath.Join(e.modelDir, name+".qdq.onnx")
	}
	return filepath.Join(e.modelDir, fmt.Sprintf("%s.qdq.b%d.onnx", name, b))
}

// prepareModels finds the model directory and builds the missing models
// with scripts/models.sh.
func (e *env) prepareModels(cfg config) error {
	if len(cfg.models) == 0 {
		return nil
	}
	e.modelDir = cfg.modelDir
	if e.modelDir == "" {
		e.modelDir = os.Getenv("QGPU_MODELS")
	}
	if e.modelDir == "" {
		e.modelDir = filepath.Join(e.root, "out", "models")
	}
	var missing []string
	for _, m := range cfg.models {
		for _, b := range cfg.batches {
			if _, err := os.Stat(e.modelFile(m, b)); err != nil {
				missing = append(missing, filepath.Base(e.modelFile(m, b)))
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	var bs []string
	for _, b := range cfg.batches {
		if b != 1 {
			bs = append(bs, strconv.Itoa(b))
		}
	}
	fmt.Fprintf(e.logw, "peers: building %s with scripts/models.sh (about a minute)\n", strings.Join(missing, ", "))
	cmd := exec.Command("bash", filepath.Join(e.root, "scripts", "models.sh"), e.modelDir)
	cmd.Env = append(os.Environ(), "QDQ_MODELS="+strings.Join(cfg.models, " "), "BATCHES="+strings.Join(bs, " "), "PYTHON="+cfg.python)
	cmd.Dir = e.root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("scripts/models.sh: %v\n%s(or pass -models none)", err, out)
	}
	for _, m := range cfg.models {
		for _, b := range cfg.batches {
			if _, err := os.Stat(e.modelFile(m, b)); err != nil {
				return fmt.Errorf("scripts/models.sh did not write %s (is %s one of its models?)", e.modelFile(m, b), m)
			}
		}
	}
	return nil
}

// modelGroup times network name at batch b on qgpu and ORT, one thread
// count after the other.
func modelGroup(name string, b int, cfg config) group {
	shape := fmt.Sprintf("%s N=%d", name, b)
	return group{name: "model " + shape, run: func(e *env) ([]row, error) {
		file := e.modelFile(name, b)
		var rows []row
		for _, t := range cfg.threads {
			q, err := e.qgpuModel(file, t)
			if err != nil {
				return nil, err
			}
			r := row{Op: "model (QDQ .onnx)", Shape: shape, Threads: t, Qgpu: &q, Target: 1}
			if !cfg.skipORT {
				o, err := e.ortModel(file, t)
				if err != nil {
					return nil, err
				}
				r.ORT = &o
			}
			rows = append(rows, r)
		}
		return rows, nil
	}}
}

// modelNotes sets the notes of the model rows of rs (after the repeats
// are merged): ORT's kernel sum, and qgpu's speed-up over its one-thread
// row of the same network.
func modelNotes(rs []row) {
	for i := range rs {
		r := &rs[i]
		if !strings.HasPrefix(r.Op, "model") {
			continue
		}
		var notes []string
		if r.ORT != nil && r.ORT.Note != "" {
			notes = append(notes, "ORT "+r.ORT.Note)
		}
		for _, o := range rs {
			if o.Op == r.Op && o.Shape == r.Shape && o.Threads == 1 && r.Threads > 1 && o.Qgpu != nil && r.Qgpu != nil && r.Qgpu.Seconds > 0 {
				notes = append(notes, fmt.Sprintf("qgpu %d threads: %.2fx its 1-thread speed", r.Threads, o.Qgpu.Seconds/r.Qgpu.Seconds))
			}
		}
		r.Note = strings.Join(notes, "; ")
	}
}

// modelBenchLine is the part of `qgpu model bench --json` used here.
type modelBenchLine struct {
	Runs     int     `json:"runs"`
	MedianMS float64 `json:"median_ms"`
	Batch    int     `json:"batch"`
}

func parseModelBench(out []byte) (measurement, error) {
	var l modelBenchLine
	if err := json.Unmarshal(bytes.TrimSpace(out), &l); err != nil {
		return measurement{}, fmt.Errorf("qgpu model bench: bad JSON %q: %v", out, err)
	}
	if l.MedianMS <= 0 {
		return measurement{}, fmt.Errorf("qgpu model bench: no time in %q", out)
	}
	return measurement{Tool: "qgpu", What: "model bench", Seconds: l.MedianMS / 1e3, Runs: l.Runs}, nil
}

func (e *env) qgpuModel(file string, t int) (measurement, error) {
	args := []string{"model", "bench", "--model", file, "--backend", "cpu", "--threads", strconv.Itoa(t),
		"--runs", "0", "--warmup", "3", "--profile", "0", "--json"}
	e.logCmd("qgpu", args)
	cmd := exec.Command(e.qgpu, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return measurement{}, fmt.Errorf("qgpu %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return parseModelBench(out)
}

// ortModelLine is the part of a run_model.js --bench --json line used
// here.
type ortModelLine struct {
	Threads  int      `json:"threads"`
	Runs     int      `json:"runs"`
	WallMS   float64  `json:"wall_median_ms"`
	KernelMS *float64 `json:"kernel_median_ms"`
}

// parseORTModel reads run_model.js's line: the wall time is the row's
// (Seconds), the kernel time goes to the note.
func parseORTModel(out []byte, t int) (measurement, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var l ortModelLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			return measurement{}, fmt.Errorf("ORT run_model.js: bad JSON line %q: %v", line, err)
		}
		if l.Threads != t || l.WallMS <= 0 {
			continue
		}
		m := measurement{Tool: "ort", What: "session.run", Seconds: l.WallMS / 1e3, WallSeconds: l.WallMS / 1e3, Runs: l.Runs}
		if l.KernelMS != nil {
			m.Note = fmt.Sprintf("kernels %s", fmtSeconds(*l.KernelMS/1e3))
		}
		return m, nil
	}
	return measurement{}, fmt.Errorf("ORT run_model.js printed no result for %d threads: %q", t, out)
}

func (e *env) ortModel(file string, t int) (measurement, error) {
	args := []string{filepath.Join("ort", "run_model.js"), "--model", file, "--random", "--bench", "0", "--threads", strconv.Itoa(t), "--json"}
	e.logCmd(e.node, args)
	cmd := exec.Command(e.node, args...)
	cmd.Dir = e.dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return measurement{}, fmt.Errorf("node %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return parseORTModel(out, t)
}
