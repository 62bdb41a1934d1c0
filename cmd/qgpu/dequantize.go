package main

import (
	"fmt"
	"io"
)

func init() {
	register(&command{name: "dequantize", summary: "turn a quantized tensor (.qt, .safetensors) back into float32 (.npy, .safetensors, .qt)", run: cmdDequantize})
}

const dequantizeAbout = `
Dequantizes a quantized tensor - a .qt file, or a .safetensors file written
by qgpu quantize (--tensor NAME when it holds several) - with ONNX
DequantizeLinear (float32(q - zero_point) * scale, with the tensor's own
per-tensor, per-axis or per-block parameters) on the chosen backend. A
Caffe2 bit-plane record is first converted losslessly to packed storage.

The extension of --out picks the format: .npy (float32, byte for byte what
numpy.save writes), .safetensors (one F32 tensor named like the input) or
.qt (a float32 qgpu tensor); a name without an extension gets .npy.
Integers without parameters (an int8 .npy) are dequantized by qgpu run
DequantizeLinear with their scale and zero point as separate inputs.`

func cmdDequantize(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dequantize", "qgpu dequantize --in W.qt|W.safetensors [--tensor NAME] --out W.npy|W.safetensors|W.qt", dequantizeAbout, `
  qgpu dequantize --in w.qt --out w.npy
  qgpu dequantize --in model_q.safetensors --tensor layers.0.weight --out l0.safetensors`, stdout)
	in := fs.String("in", "", "input `FILE`: .qt, or .safetensors written by qgpu quantize")
	tensor := fs.String("tensor", "", "tensor `NAME` in a .safetensors file")
	out := fs.String("out", "", "output `FILE`: .npy, .safetensors or .qt (the extension picks the format), written atomically")
	backend := fs.String("backend", "cpu", "backend that dequantizes")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if err := noArgs("dequantize", pos); err != nil {
		return err
	}
	format, err := checkInOut("dequantize", *in, *out, nil, formatNPY, formatSafetensors, formatQT)
	if err != nil {
		return err
	}
	q, err := loadQuantized("dequantize", *in, *tensor)
	if err != nil {
		return err
	}
	y, err := dequantizeOn(*backend, q.Tensor)
	if err != nil {
		return fmt.Errorf("dequantize: %w", err)
	}
	y.Name = q.Name
	return saveTensor(*out, format, y)
}
