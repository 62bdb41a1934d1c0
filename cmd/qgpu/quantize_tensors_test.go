package main

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/qgpu/qgpu/qtensor"
)

// handSafetensors writes a .safetensors file by hand: the 8-byte header
// length, a JSON header, the data.
func handSafetensors(t *testing.T, path string, header string, data []byte) {
	t.Helper()
	for len(header)%8 != 0 {
		header += " "
	}
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	if err := os.WriteFile(path, append(b, data...), 0o644); err != nil {
		t.Fatal(err)
	}
}

func f32bytes(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// TestQuantizeTensorFile exports a small "model" (a [4,3] weight, its
// bias, an int32 step counter) to the compressed-tensors layout and checks
// every tensor against values computed here.
func TestQuantizeTensorFile(t *testing.T) {
	dir := t.TempDir()
	w := []float32{1, -0.5, 0.25, -2, 1, 0, 0.1, 0.2, 0.3, -4, 4, 1}
	bias := []float32{0.5, -0.5, 1, 2}
	data := append(f32bytes(w...), f32bytes(bias...)...)
	data = append(data, 7, 0, 0, 0)
	in := filepath.Join(dir, "m.safetensors")
	handSafetensors(t, in, `{"layer.weight":{"dtype":"F32","shape":[4,3],"data_offsets":[0,48]},`+
		`"layer.bias":{"dtype":"F32","shape":[4],"data_offsets":[48,64]},`+
		`"step":{"dtype":"I32","shape":[],"data_offsets":[64,68]}}`, data)
	out := filepath.Join(dir, "q.safetensors")
	code, stdout, stderr := qgpu(t, "quantize", "--in", in, "--dtype", "int8", "--scheme", "symmetric", "--axis", "0", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "1 of 3 tensors quantized") {
		t.Errorf("stdout %q", stdout)
	}
	st, err := qtensor.OpenSafetensors(out)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	raw, err := rawSafetensors(out)
	if err != nil {
		t.Fatal(err)
	}
	names := st.Names()
	slices.Sort(names)
	if !slices.Equal(names, []string{"layer.bias", "layer.weight", "layer.weight_scale", "step"}) {
		t.Fatalf("tensors %v", names)
	}
	wi, _ := st.Info("layer.weight")
	si, _ := st.Info("layer.weight_scale")
	if wi.DType != "I8" || !slices.Equal(wi.Shape, []int{4, 3}) || si.DType != "F32" || !slices.Equal(si.Shape, []int{4, 1}) {
		t.Fatalf("weight %+v, scale %+v", wi, si)
	}
	q, sc := raw(wi), raw(si)
	for r := range 4 {
		absmax := float32(0)
		for _, v := range w[3*r : 3*r+3] {
			absmax = max(absmax, float32(math.Abs(float64(v))))
		}
		s := absmax / 127.5 // symmetric int8, PyTorch's and compressed-tensors' rule: max|x| / (255/2)
		if got := math.Float32frombits(binary.LittleEndian.Uint32(sc[4*r:])); got != s {
			t.Errorf("row %d scale %v, want %v", r, got, s)
		}
		for c := range 3 {
			want := int8(min(max(math.RoundToEven(float64(w[3*r+c]/s)), -128), 127))
			if got := int8(q[3*r+c]); got != want {
				t.Errorf("w[%d][%d] = %d, want %d", r, c, got, want)
			}
		}
	}
	bi, _ := st.Info("layer.bias")
	si2, _ := st.Info("step")
	if string(raw(bi)) != string(f32bytes(bias...)) || bi.DType != "F32" || string(raw(si2)) != "\x07\x00\x00\x00" || si2.DType != "I32" {
		t.Errorf("copied tensors changed")
	}
	var cfg struct {
		Format string `json:"format"`
		Groups map[string]struct {
			Targets []string `json:"targets"`
			Weights struct {
				Symmetric bool   `json:"symmetric"`
				Strategy  string `json:"strategy"`
				NumBits   int    `json:"num_bits"`
			} `json:"weights"`
		} `json:"config_groups"`
	}
	if err := json.Unmarshal([]byte(st.Metadata()["quantization_config"]), &cfg); err != nil {
		t.Fatal(err)
	}
	g := cfg.Groups["group_0"]
	if cfg.Format != "int-quantized" || !g.Weights.Symmetric || g.Weights.Strategy != "channel" || g.Weights.NumBits != 8 || !slices.Equal(g.Targets, []string{"layer.weight"}) {
		t.Errorf("quantization_config %+v", cfg)
	}

	// Affine uint8 per tensor, selected by pattern: a zero point of the
	// integers' type and the scale's shape [1].
	code, _, stderr = qgpu(t, "quantize", "--in", in, "--tensor", "layer.*", "--dtype", "uint8", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	st2, err := qtensor.OpenSafetensors(out)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	for _, name := range []string{"layer.weight_zero_point", "layer.bias_zero_point"} {
		zi, ok := st2.Info(name)
		if !ok || zi.DType != "U8" || !slices.Equal(zi.Shape, []int{1}) {
			t.Errorf("%s: %+v %v", name, zi, ok)
		}
	}
	wantError(t, 2, "choose one with --tensor", "quantize", "--in", in, "--out", filepath.Join(dir, "q.qt"))
	wantError(t, 2, "no float tensor", "quantize", "--in", in, "--tensor", "nothing*", "--out", out)
	// 4-bit types have no compressed-tensors form: they are written in
	// qgpu's .safetensors layout, every float tensor, with a report line
	// each (quantize_many.go); the int32 tensor is left out.
	code, stdout, stderr = qgpu(t, "quantize", "--in", in, "--dtype", "int4", "--out", out)
	if code != 0 || !strings.Contains(stdout, "layer.weight") || !strings.Contains(stderr, "left out") {
		t.Errorf("int4 export: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
