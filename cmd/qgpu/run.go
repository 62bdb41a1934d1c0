package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/qgpu/qgpu/internal/safefile"
	"github.com/qgpu/qgpu/qtensor"
)

func init() {
	register(&command{name: "run", summary: "evaluate one ONNX quantization op on .npy files", run: cmdRun})
}

func runAbout() string {
	var b strings.Builder
	b.WriteString(`
Evaluates one ONNX operator on NumPy .npy files with ONNX semantics and
attribute defaults. Each input is its own --in, in the operator's ONNX
input order ("none" for an omitted optional input; trailing optional
inputs may be left out); each output its own --out, in ONNX output order
("none" discards one). Attributes are --attr key=value, lists
comma-separated. Per-tensor scales and zero points may be 0-d or of shape
[1]; per-axis ones are 1-D.

The extension of each --out picks its format: .npy (the ONNX tensor, byte
for byte what numpy.save writes; 4-bit outputs one value per byte), .qt (a
qgpu tensor: a quantized output keeps its scale and zero point) or
.safetensors (see qgpu quantize -h); a name without an extension gets
.npy. Outputs are written atomically, all or none.

Operators (inputs -> outputs):
`)
	for _, n := range opNames() {
		op := onnxOps[n]
		fmt.Fprintf(&b, "\n  %s(%s) -> %s\n      %s\n", n, strings.Join(op.inputs, ", "), strings.Join(op.outputs, ", "), op.about)
		keys := make([]string, 0, len(op.attrs))
		for k := range op.attrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			a := op.attrs[k]
			def := ""
			if a.def != "" {
				def = " (default " + a.def + ")"
			}
			kind := [...]string{attrInt: "int", attrInts: "ints", attrString: "string"}[a.kind]
			fmt.Fprintf(&b, "      %s (%s): %s%s\n", k, kind, a.help, def)
		}
	}
	return b.String()
}

// opNames lists the operators of qgpu run, sorted.
func opNames() []string {
	names := make([]string, 0, len(onnxOps))
	for n := range onnxOps {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

const runExamples = `
  qgpu run QuantizeLinear --in x.npy --in scale.npy --in zp.npy --out y.npy
  qgpu run QuantizeLinear --attr axis=0 --attr block_size=32 --in w.npy --in s.npy --in zp.npy --out q.qt
  qgpu run MatMulInteger --backend cpu --in a.npy --in b.npy --in a_zp.npy --in none --out y.npy
  qgpu run ConvInteger --attr pads=1,1,1,1 --attr strides=2,2 --in x.npy --in w.npy --out y.npy
  qgpu run DynamicQuantizeLinear --in x.npy --out y.npy --out y_scale.npy --out y_zp.npy`

// runOutFormats are the formats of qgpu run's outputs.
var runOutFormats = []fileFormat{formatNPY, formatQT, formatSafetensors}

func cmdRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "qgpu run <OpName> [--backend B] [--attr key=value]... --in FILE... --out FILE...", runAbout(), runExamples, stdout)
	backend := fs.String("backend", "cpu", "backend to run on (see qgpu devices); auto picks the best")
	var ins, outs, attrs stringList
	fs.Var(&ins, "in", "input `FILE` (.npy, or none), in ONNX input order; repeat the flag for each input")
	fs.Var(&outs, "out", "output `FILE` (.npy, .qt, .safetensors, or none), in ONNX output order; repeat the flag for each output")
	fs.Var(&attrs, "attr", "attribute `key=value` (lists comma-separated); repeatable")
	threads := fs.Int("threads", 0, "CPU worker threads (0: GOMAXPROCS)")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 1 && strings.Contains(pos[1], ".") {
		return usagef("run: unexpected argument %s: each input needs its own --in, each output its own --out (--in a.npy --in a_scale.npy ...)", shortQ(pos[1]))
	}
	if len(pos) != 1 {
		return usagef("run: want exactly one operator name, have %q (qgpu run -h lists them)", pos)
	}
	if err := checkThreads("run", *threads); err != nil {
		return err
	}
	name := pos[0]
	op, ok := onnxOps[name]
	if !ok {
		return usagef("run: unknown operator %s%s (qgpu run -h lists them)", shortQ(name), didYouMean(name, opNames()))
	}
	r := &opRun{ctx: context.Background(), op: name, ints: map[string]int{}, intss: map[string][]int{}, strs: map[string]string{}, given: map[string]bool{}}
	if err := r.parseAttrs(op, attrs); err != nil {
		return err
	}
	formats, err := checkRunOutputs(name, op, ins, outs)
	if err != nil {
		return err
	}
	if err := r.loadInputs(op, ins); err != nil {
		return err
	}
	eng, err := openEngine(*backend, *threads)
	if err != nil {
		return err
	}
	defer eng.Close()
	r.eng = eng
	defer r.release()
	res, err := op.evaluate(r)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return writeRunOutputs(name, op, res, outs, formats)
}

// checkRunOutputs checks the --out list against the operator (count,
// formats, no output naming an input or another output) and returns each
// output's format.
func checkRunOutputs(name string, op *onnxOp, ins, outs []string) ([]fileFormat, error) {
	if len(ins) > len(op.inputs) {
		return nil, usagef("%s: %d inputs given, the operator has %d (%s)", name, len(ins), len(op.inputs), strings.Join(op.inputs, ", "))
	}
	if len(outs) != len(op.outputs) {
		return nil, usagef("%s: %d outputs given, want %d (%s); give each its own --out", name, len(outs), len(op.outputs), strings.Join(op.outputs, ", "))
	}
	formats := make([]fileFormat, len(outs))
	for i, o := range outs {
		if o == "none" {
			continue
		}
		if err := sameFileErr(name, o, ins...); err != nil {
			return nil, err
		}
		f, err := outputFormat(name, fmt.Sprintf("output %d (%s)", i, op.outputs[i]), o, nil, runOutFormats...)
		if err != nil {
			return nil, err
		}
		formats[i] = f
		for _, o2 := range outs[:i] {
			if o2 != "none" && (o2 == o || safefile.Same(o, o2)) {
				return nil, usagef("%s: output %s given twice", name, o)
			}
		}
	}
	return formats, nil
}

// loadInputs reads the --in files (nil for omitted optional inputs).
func (r *opRun) loadInputs(op *onnxOp, ins []string) error {
	required := 0
	for _, n := range op.inputs {
		if !strings.HasSuffix(n, "?") {
			required = len(r.names) + 1
		}
		r.names = append(r.names, strings.TrimSuffix(n, "?"))
	}
	r.in = make([]*qtensor.Tensor, len(op.inputs))
	r.files = make([]string, len(op.inputs))
	for i := range op.inputs {
		opt := strings.HasSuffix(op.inputs[i], "?")
		if i >= len(ins) || ins[i] == "none" {
			if !opt || (i >= len(ins) && i < required) {
				return usagef("%s: input %d (%s) is required (each input has its own --in)", r.op, i, r.names[i])
			}
			continue
		}
		if f, err := sniffFormat(ins[i]); err == nil && f != formatNPY {
			return usagef("%s: input %d (%s): %s is a %s file; run takes NumPy .npy arrays (qgpu dequantize --out X.npy turns a quantized file into one)", r.op, i, r.names[i], ins[i], f.ext())
		}
		t, err := qtensor.LoadNPY(ins[i])
		if err != nil {
			return usagef("%s: input %d (%s): %v", r.op, i, r.names[i], err)
		}
		r.in[i], r.files[i] = t, ins[i]
	}
	return nil
}

// release releases the engine tensors of the run.
func (r *opRun) release() {
	for _, t := range r.owned {
		t.Release()
	}
}

// writeRunOutputs writes every output or none: each goes to a temporary
// file first, then all are renamed into place.
func writeRunOutputs(name string, op *onnxOp, res []*qtensor.Tensor, outs []string, formats []fileFormat) error {
	var set safefile.Set
	defer set.Abort()
	for i, t := range res {
		if outs[i] == "none" {
			continue
		}
		t.Name = op.outputs[i]
		if err := set.Add(outs[i], encoder(formats[i], op.outputs[i], t)); err != nil {
			return fmt.Errorf("%s: output %d (%s): %w", name, i, op.outputs[i], err)
		}
	}
	if err := set.Commit(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
