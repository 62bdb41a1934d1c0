package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/internal/safefile"
	"github.com/qgpu/qgpu/qtensor"
)

// `qgpu quantize --in model.safetensors` without one --tensor name: the
// weights-only export of a whole tensor file. Every float tensor of rank
// >= 2 (or every float tensor matching the --tensor patterns) is
// quantized into one .safetensors file in the compressed-tensors layout
// that vLLM and llm-compressor read ("int-quantized"): NAME holds the
// integers (I8, or U8 for uint8), NAME_scale the F32 scales in the shape
// compressed-tensors gives them (per tensor [1]; per channel along axis a
// the tensor's shape with every other dimension 1, e.g. [out, 1] for a
// Linear weight on axis 0; per block of --block along axis a the shape
// with dimension a divided into blocks, e.g. [out, in/block]) and, for an
// affine target, NAME_zero_point with the scale's shape and the integers'
// type (symmetric targets have no zero point, as compressed-tensors omits
// it). Scales follow PyTorch's rule (calib.QParams), which for symmetric
// int8 is compressed-tensors' too: max|x| / 127.5 over [-128, 127]. The other tensors are copied unchanged. The header's __metadata__
// holds "format": "pt" and a compressed-tensors quantization_config.

// tensorExport holds the flags of an export.
type tensorExport struct {
	in, patterns, out string
	target            calib.Target
	axis              int
	axisGiven         bool
	block             int
	rule              qtensor.Rounding
}

// isTensorExport reports whether a quantize command is an export: a
// .safetensors input with no --tensor (and more than one tensor), or
// --tensor patterns (a comma-separated list, or a name with * ? [).
func isTensorExport(in, tensor string) (bool, error) {
	if !strings.HasSuffix(strings.ToLower(in), ".safetensors") {
		return false, nil
	}
	if tensor != "" && !strings.ContainsAny(tensor, "*?[,") {
		return false, nil
	}
	st, err := qtensor.OpenSafetensors(in)
	if err != nil {
		return false, asUsage(err)
	}
	defer st.Close()
	if tensor == "" {
		return len(st.Names()) > 1, nil
	}
	if _, exact := st.Info(tensor); exact {
		return false, nil
	}
	for _, p := range strings.Split(tensor, ",") {
		if _, err := path.Match(strings.TrimSpace(p), ""); err != nil {
			return false, nil // not a pattern: the one-tensor path reports the name
		}
	}
	return true, nil
}

// matchTensor reports whether name matches one of the comma-separated
// path.Match patterns.
func matchTensor(patterns, name string) (bool, error) {
	for _, p := range strings.Split(patterns, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		ok, err := path.Match(p, name)
		if err != nil {
			return false, usagef("quantize: --tensor pattern %q: %v", p, err)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

func isFloatST(d string) bool { return d == "F32" || d == "F16" || d == "BF16" }

func runTensorExport(e tensorExport, stdout io.Writer) error {
	if !strings.HasSuffix(strings.ToLower(e.out), ".safetensors") {
		return usagef("quantize: %s holds several tensors; a %s file holds one tensor: choose one with --tensor NAME, or write them all to a .safetensors --out (compressed-tensors layout)", e.in, filepath.Ext(e.out))
	}
	d := e.target.DType
	if d != qtensor.Int8 && d != qtensor.Uint8 {
		return usagef("quantize: --dtype %v: the .safetensors export writes int8 or uint8", d)
	}
	st, err := qtensor.OpenSafetensors(e.in)
	if err != nil {
		return asUsage(err)
	}
	defer st.Close()
	raw, err := rawSafetensors(e.in)
	if err != nil {
		return err
	}
	intType := map[qtensor.DType]string{qtensor.Int8: "I8", qtensor.Uint8: "U8"}[d]
	var out []qtensor.SafetensorsTensor
	taken := map[string]bool{}
	for _, name := range st.Names() {
		taken[name] = true
	}
	var quantized []string
	for _, name := range st.Names() {
		info, _ := st.Info(name)
		sel := isFloatST(info.DType) && len(info.Shape) >= 2
		if e.patterns != "" {
			ok, err := matchTensor(e.patterns, name)
			if err != nil {
				return err
			}
			sel = ok && isFloatST(info.DType)
		}
		if !sel {
			out = append(out, qtensor.SafetensorsTensor{Name: name, DType: info.DType, Shape: info.Shape, Data: raw(info)})
			continue
		}
		for _, suffix := range []string{"_scale", "_zero_point"} {
			if taken[name+suffix] {
				return usagef("quantize: %s already holds %s%s", e.in, name, suffix)
			}
		}
		x, err := st.Float32(name)
		if err != nil {
			return asUsage(fmt.Errorf("%s: %w", e.in, err))
		}
		q, sshape, err := e.quantizeOne(x)
		if err != nil {
			return asUsage(fmt.Errorf("quantize: %s: %w", name, err))
		}
		out = append(out, qtensor.SafetensorsTensor{Name: name, DType: intType, Shape: x.Shape, Data: q.Data})
		sb := make([]byte, 4*len(q.Params.Scales))
		for i, s := range q.Params.Scales {
			binary.LittleEndian.PutUint32(sb[4*i:], math.Float32bits(s))
		}
		out = append(out, qtensor.SafetensorsTensor{Name: name + "_scale", DType: "F32", Shape: sshape, Data: sb})
		if e.target.Scheme == calib.Affine {
			zb := make([]byte, len(q.Params.ZeroPoints))
			for i, z := range q.Params.ZeroPoints {
				zb[i] = byte(z)
			}
			out = append(out, qtensor.SafetensorsTensor{Name: name + "_zero_point", DType: intType, Shape: sshape, Data: zb})
		}
		quantized = append(quantized, name)
	}
	if len(quantized) == 0 {
		return usagef("quantize: no float tensor of %s to quantize (--tensor %q)", e.in, e.patterns)
	}
	strategy := "tensor"
	switch {
	case e.block > 0:
		strategy = "group"
	case e.axisGiven:
		strategy = "channel"
	}
	qcfg := map[string]any{
		"quant_method": "compressed-tensors", "format": "int-quantized", "quantization_status": "compressed",
		"config_groups": map[string]any{"group_0": map[string]any{
			"targets": quantized,
			"weights": map[string]any{"num_bits": 8, "type": "int", "symmetric": e.target.Scheme == calib.Symmetric,
				"strategy": strategy, "group_size": nilIfZero(e.block), "dynamic": false},
		}},
		"producer": "qgpu " + versionString(),
	}
	cj, err := json.Marshal(qcfg)
	if err != nil {
		return err
	}
	meta := map[string]string{"format": "pt", "quantization_config": string(cj)}
	if err := safefile.Write(e.out, func(w io.Writer) error { return qtensor.WriteSafetensors(w, out, meta) }); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d of %d tensors quantized to %v %s (%s), the rest copied -> %s\n", e.in, len(quantized), len(st.Names()),
		d, e.target.Scheme, strategy, e.out)
	return nil
}

func nilIfZero(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

// quantizeOne quantizes one tensor and returns the scale's shape in the
// compressed-tensors layout.
func (e tensorExport) quantizeOne(x *qtensor.Tensor) (*qtensor.Tensor, []int, error) {
	rank := len(x.Shape)
	p := qtensor.TensorParams(1, 0)
	sshape := []int{1}
	norm := func(a int) (int, error) {
		if a < -rank || a >= rank {
			return 0, fmt.Errorf("%w: --axis %d out of range for shape %v", qtensor.ErrShape, a, x.Shape)
		}
		if a < 0 {
			a += rank
		}
		return a, nil
	}
	switch {
	case e.block > 0:
		a := rank - 1
		if e.axisGiven {
			a = e.axis
		}
		a, err := norm(a)
		if err != nil {
			return nil, nil, err
		}
		p = qtensor.Params{Granularity: qtensor.PerBlock, Axis: a, BlockSize: e.block}
		sshape = slices.Clone(x.Shape)
		sshape[a] = (x.Shape[a] + e.block - 1) / e.block
	case e.axisGiven:
		a, err := norm(e.axis)
		if err != nil {
			return nil, nil, err
		}
		p = qtensor.Params{Granularity: qtensor.PerAxis, Axis: a}
		sshape = make([]int, rank)
		for i := range sshape {
			sshape[i] = 1
		}
		sshape[a] = x.Shape[a]
	}
	p, err := rangeParams(x.Float32s(), x.Shape, p, e.target)
	if err != nil {
		return nil, nil, err
	}
	q, err := qtensor.QuantizeFloat32(x.Float32s(), x.Shape, e.target.DType, p, e.rule)
	if err != nil {
		return nil, nil, err
	}
	return q, sshape, nil
}

// rawSafetensors returns a reader of a tensor's bytes in the file.
func rawSafetensors(file string) (func(qtensor.SafetensorsInfo) []byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, asUsage(err)
	}
	if len(b) < 8 {
		return nil, usagef("%s: not a .safetensors file", file)
	}
	n := binary.LittleEndian.Uint64(b)
	if n > uint64(len(b)-8) {
		return nil, usagef("%s: header of %d bytes in a %d-byte file", file, n, len(b))
	}
	data := b[8+n:]
	return func(info qtensor.SafetensorsInfo) []byte { return data[info.Begin:info.End] }, nil
}
