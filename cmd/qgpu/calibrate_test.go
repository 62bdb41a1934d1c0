package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/qtensor"
)

// calibJSON runs calibrate with --json and decodes the result.
func calibJSON(t *testing.T, args ...string) calibResult {
	t.Helper()
	code, out, stderr := qgpu(t, append([]string{"calibrate", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("calibrate %q: exit %d: %s", args, code, stderr)
	}
	var r calibResult
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("calibrate %q: %v in %q", args, err, out)
	}
	if strings.Count(out, "\n") != 1 {
		t.Errorf("calibrate %q: want one JSON line, got %q", args, out)
	}
	return r
}

func writeF32(t *testing.T, dir, name string, shape []int, v []float32) string {
	t.Helper()
	path := filepath.Join(dir, name)
	writeNPY(t, path, f32(shape, v...))
	return path
}

// handQuant is the round trip quantize/dequantize of docs/semantics.md section 2 written
// out for the test: q = clamp(rint(x / s) + zp), y = (q - zp) * s.
func handSQNR(x []float32, s float32, zp, qmin, qmax int32) float64 {
	var sig, noise float64
	for _, v := range x {
		q := int32(math.RoundToEven(float64(v/s))) + zp
		q = min(max(q, qmin), qmax)
		y := float32(q-zp) * s
		sig += float64(v) * float64(v)
		noise += (float64(v) - float64(y)) * (float64(v) - float64(y))
	}
	return 10 * math.Log10(sig/noise)
}

func TestCalibrateMinMaxByHand(t *testing.T) {
	dir := t.TempDir()
	x := []float32{-1, 0.5, 2, 3, 0.125, -0.75}
	in := writeF32(t, dir, "x.npy", []int{2, 3}, x)
	// uint8 affine: scale = (3 - (-1)) / 255; zp = 0 - rint(-1 / scale)
	// = rint(63.75) = 64.
	sU8 := float32(4) / float32(255)
	// int8 symmetric: scale = max(1, 3) / 127.5, zp 0.
	sI8 := float32(3) / float32(127.5)
	// int4 affine with reduce-range: [-4, 3], scale 4/7, zp = -4 - rint(-1.75) = -2.
	sI4 := float32(4) / float32(7)
	// custom [-100, 100] int8 affine: scale 4/200, zp = -100 - rint(-50) = -50.
	sC := float32(4) / float32(200)
	cases := []struct {
		args       []string
		scale      float32
		zp         int32
		qmin, qmax int32
	}{
		{[]string{"--dtype", "uint8", "--scheme", "affine"}, sU8, 64, 0, 255},
		{[]string{"--dtype", "int8", "--scheme", "symmetric"}, sI8, 0, -128, 127},
		{[]string{"--dtype", "int4", "--reduce-range"}, sI4, -2, -4, 3},
		{[]string{"--dtype", "int8", "--qmin", "-100", "--qmax", "100"}, sC, -50, -100, 100},
	}
	for _, c := range cases {
		r := calibJSON(t, append([]string{"--in", in, "--method", "minmax"}, c.args...)...)
		if len(r.Scale) != 1 || len(r.ZeroPoint) != 1 || r.Scale[0] != c.scale || r.ZeroPoint[0] != c.zp {
			t.Errorf("%q: scale %v zp %v, want %v %d", c.args, r.Scale, r.ZeroPoint, c.scale, c.zp)
		}
		// calib.QParams is the library's formula; the CLI must agree with it too.
		tg := calib.Target{DType: mustDType(t, r.DType), Scheme: map[string]calib.Scheme{"affine": calib.Affine, "symmetric": calib.Symmetric}[r.Scheme],
			ReduceRange: r.Reduce, Custom: slicesContains(c.args, "--qmin"), QMin: c.qmin, QMax: c.qmax}
		if s, z, err := calib.QParams(-1, 3, tg); err != nil || s != r.Scale[0] || z != r.ZeroPoint[0] {
			t.Errorf("%q: calib.QParams gives %v %d %v", c.args, s, z, err)
		}
		if r.QMin != c.qmin || r.QMax != c.qmax || r.Range.Min[0] != -1 || r.Range.Max[0] != 3 || r.Count != 6 {
			t.Errorf("%q: %+v", c.args, r)
		}
		if want := handSQNR(x, c.scale, c.zp, c.qmin, c.qmax); r.SQNR == nil || math.Abs(*r.SQNR-want) > 1e-9 {
			t.Errorf("%q: SQNR %v, want %v", c.args, r.SQNR, want)
		}
	}
}

func slicesContains(s []string, v string) bool {
	for _, e := range s {
		if e == v {
			return true
		}
	}
	return false
}

func mustDType(t *testing.T, s string) qtensor.DType {
	t.Helper()
	d, err := qtensor.ParseDType(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestArraySplit(t *testing.T) {
	cases := []struct {
		n, parts int
		want     [][2]int
	}{
		{10, 3, [][2]int{{0, 4}, {4, 7}, {7, 10}}}, // numpy.array_split(range(10), 3): 4, 3, 3
		{10, 1, [][2]int{{0, 10}}},
		{5, 5, [][2]int{{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}}},
		{7, 4, [][2]int{{0, 2}, {2, 4}, {4, 6}, {6, 7}}}, // 2, 2, 2, 1
		{2, 3, [][2]int{{0, 1}, {1, 2}, {2, 2}}},         // array_split leaves the last empty
	}
	for _, c := range cases {
		if got := arraySplit(c.n, c.parts); !reflect.DeepEqual(got, c.want) {
			t.Errorf("arraySplit(%d, %d) = %v, want %v", c.n, c.parts, got, c.want)
		}
	}
}

func TestCalibrateBatchesMovingAverage(t *testing.T) {
	dir := t.TempDir()
	// 10 values in 3 batches: 4, 3, 3 (numpy.array_split). Batch minima
	// -1, -2, 0 and maxima 1, 3, 10; with c = 0.5:
	// min -1 -> -1.5 -> -0.75, max 1 -> 2 -> 6.
	x := []float32{-1, 1, 0.5, 0.25, -2, 3, 0, 0, 10, 5}
	in := writeF32(t, dir, "x.npy", []int{10}, x)
	r := calibJSON(t, "--in", in, "--method", "moving-average", "--batches", "3", "--averaging-constant", "0.5")
	if r.Range.Min[0] != -0.75 || r.Range.Max[0] != 6 {
		t.Errorf("range [%v, %v], want [-0.75, 6]", r.Range.Min, r.Range.Max)
	}
	if r.DataRange.Min != -2 || r.DataRange.Max != 10 || r.Batches != 3 {
		t.Errorf("data range %+v batches %d", r.DataRange, r.Batches)
	}
	// The same batches fed by hand to calib's observer give the same range.
	obs := &calib.MovingAverageMinMaxObserver{Constant: 0.5}
	for _, b := range [][]float32{x[0:4], x[4:7], x[7:10]} {
		if err := obs.Observe(context.Background(), b, nil); err != nil {
			t.Fatal(err)
		}
	}
	lo, hi, err := obs.Range(calib.Uint8Affine)
	if err != nil || lo != r.Range.Min[0] || hi != r.Range.Max[0] {
		t.Errorf("observer fed by hand: [%v, %v] %v; CLI [%v, %v]", lo, hi, err, r.Range.Min, r.Range.Max)
	}
	// The default constant (0.01) and one batch: moving average = min/max.
	r1 := calibJSON(t, "--in", in, "--method", "moving-average")
	if r1.Range.Min[0] != -2 || r1.Range.Max[0] != 10 || r1.AvgConst != 0.01 {
		t.Errorf("one batch: %+v", r1)
	}
}

func TestCalibratePerChannel(t *testing.T) {
	dir := t.TempDir()
	// shape [2, 3, 2]; channel axis 1.
	x := []float32{
		1, -1, 2, 0, 4, 4,
		-3, 0.5, 8, 1, -1, 2,
	}
	in := writeF32(t, dir, "x.npy", []int{2, 3, 2}, x)
	r := calibJSON(t, "--in", in, "--method", "minmax", "--axis", "1", "--dtype", "int8", "--scheme", "symmetric")
	// channel 0: {1,-1,-3,0.5}: [-3, 1]; channel 1: {2,0,8,1}: [0, 8];
	// channel 2: {4,4,-1,2}: [-1, 4].
	wantLo, wantHi := []float32{-3, 0, -1}, []float32{1, 8, 4}
	if !reflect.DeepEqual(r.Range.Min, wantLo) || !reflect.DeepEqual(r.Range.Max, wantHi) {
		t.Errorf("ranges %v %v, want %v %v", r.Range.Min, r.Range.Max, wantLo, wantHi)
	}
	wantS := []float32{float32(3) / float32(127.5), float32(8) / float32(127.5), float32(4) / float32(127.5)}
	if !reflect.DeepEqual(r.Scale, wantS) || !reflect.DeepEqual(r.ZeroPoint, []int32{0, 0, 0}) || r.Axis == nil || *r.Axis != 1 {
		t.Errorf("scale %v zp %v axis %v, want %v", r.Scale, r.ZeroPoint, r.Axis, wantS)
	}
	// Negative axis counts from the end: -2 is axis 1.
	if rn := calibJSON(t, "--in", in, "--method", "minmax", "--axis", "-2", "--dtype", "int8", "--scheme", "symmetric"); !reflect.DeepEqual(rn.Scale, wantS) {
		t.Errorf("--axis -2: %v", rn.Scale)
	}
	// Moving average per channel, 2 batches split along the outer axis
	// (rows 0 and 1), c = 0.5: channel 0 [-1, 1] then [-3, 0.5] -> [-2, 0.75];
	// channel 1 [0, 2], [1, 8] -> [0.5, 5]; channel 2 [4, 4], [-1, 2] -> [1.5, 3].
	ma := calibJSON(t, "--in", in, "--method", "moving-average", "--axis", "1", "--batches", "2", "--averaging-constant", "0.5")
	if !reflect.DeepEqual(ma.Range.Min, []float32{-2, 0.5, 1.5}) || !reflect.DeepEqual(ma.Range.Max, []float32{0.75, 5, 3}) {
		t.Errorf("per-channel moving average: %v %v", ma.Range.Min, ma.Range.Max)
	}
	// Histogram methods per channel: each channel's result is the
	// per-tensor result of that channel's values alone.
	chans := [][]float32{{1, -1, -3, 0.5}, {2, 0, 8, 1}, {4, 4, -1, 2}}
	for _, m := range []string{"histogram", "kl", "percentile", "l1"} {
		rc := calibJSON(t, "--in", in, "--method", m, "--axis", "1", "--batches", "2")
		if len(rc.Scale) != 3 || len(rc.ZeroPoint) != 3 || len(rc.Range.Min) != 3 {
			t.Fatalf("%s: %+v", m, rc)
		}
		for c, v := range chans {
			p := writeF32(t, dir, "c"+strconv.Itoa(c)+".npy", []int{4}, v)
			one := calibJSON(t, "--in", p, "--method", m)
			if one.Scale[0] != rc.Scale[c] || one.ZeroPoint[0] != rc.ZeroPoint[c] || one.Range.Min[0] != rc.Range.Min[c] {
				t.Errorf("%s channel %d: per-channel %v/%d, alone %v/%d", m, c, rc.Scale[c], rc.ZeroPoint[c], one.Scale[0], one.ZeroPoint[0])
			}
		}
	}
}

func TestChannelBatches(t *testing.T) {
	x := make([]float32, 2*3*4)
	for i := range x {
		x[i] = float32(i)
	}
	// Outer 2 > 1: split the outer dimension.
	b := channelBatches(x, 2, 3, 4, 2)
	if len(b) != 2 || !reflect.DeepEqual(b[0].shape, []int{1, 3, 4}) || b[1].x[0] != 12 {
		t.Errorf("outer split: %+v", b)
	}
	// Outer 1 (channel axis first): split the inner dimension, 4 into 3
	// parts of 2, 1, 1 per channel.
	b = channelBatches(x[:12], 1, 3, 4, 3)
	want := [][]float32{{0, 1, 4, 5, 8, 9}, {2, 6, 10}, {3, 7, 11}}
	for i, w := range want {
		if !reflect.DeepEqual(b[i].x, w) || b[i].shape[2] != len(w)/3 {
			t.Errorf("inner split part %d: %+v, want %v", i, b[i], w)
		}
	}
}

func TestCalibrateNonFinite(t *testing.T) {
	dir := t.TempDir()
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	in := writeF32(t, dir, "x.npy", []int{6}, []float32{nan, 1, -inf, 2, inf, nan})
	r := calibJSON(t, "--in", in, "--method", "histogram")
	if r.NaN != 2 || r.PosInf != 1 || r.NegInf != 1 || r.Count != 2 || r.DataRange.Max != 2 || r.DataRange.Min != 1 || r.Search != "l2" || r.Bins != 2048 {
		t.Errorf("%+v", r)
	}
	allNaN := writeF32(t, dir, "nan.npy", []int{2}, []float32{nan, nan})
	wantError(t, 2, "no finite data", "calibrate", "--in", allNaN)
}

func TestCalibrateJSONSchema(t *testing.T) {
	dir := t.TempDir()
	in := writeF32(t, dir, "x.npy", []int{4, 2}, []float32{1, 2, 3, 4, -5, 6, 7, 8})
	for _, args := range [][]string{
		{"--in", in, "--json"},
		{"--in", in, "--json", "--axis", "1", "--method", "kl"},
	} {
		code, out, stderr := qgpu(t, append([]string{"calibrate"}, args...)...)
		if code != 0 {
			t.Fatalf("%q: %s", args, stderr)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatal(err)
		}
		perChannel := slicesContains(args, "--axis")
		n := 1
		if perChannel {
			n = 2
		}
		for _, k := range []string{"scale", "zero_point"} {
			if l, ok := m[k].([]any); !ok || len(l) != n {
				t.Errorf("%q: %s = %v, want a list of %d", args, k, m[k], n)
			}
		}
		rg, ok := m["range"].(map[string]any)
		if !ok || len(rg["min"].([]any)) != n || len(rg["max"].([]any)) != n {
			t.Errorf("%q: range %v", args, m["range"])
		}
		for _, k := range []string{"sqnr_db", "nan", "pos_inf", "neg_inf", "count", "qmin", "qmax"} {
			if _, ok := m[k].(float64); !ok {
				t.Errorf("%q: %s = %v, want a number", args, k, m[k])
			}
		}
		for k, want := range map[string]string{"dtype": "uint8", "scheme": "affine", "backend": "cpu"} {
			if m[k] != want {
				t.Errorf("%q: %s = %v, want %s", args, k, m[k], want)
			}
		}
		if perChannel != (m["axis"] != nil) {
			t.Errorf("%q: axis %v", args, m["axis"])
		}
	}
	// --method all: one object with one result per method.
	code, out, _ := qgpu(t, "calibrate", "--in", in, "--method", "all", "--json")
	var all struct {
		In      string        `json:"in"`
		Results []calibResult `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &all); code != 0 || err != nil || len(all.Results) != len(calib.Methods()) || all.In != in {
		t.Fatalf("all: exit %d, %v, %q", code, err, out)
	}
	// An exact round trip has no finite SQNR: null.
	exact := writeF32(t, dir, "e.npy", []int{2}, []float32{0, 0})
	code, out, _ = qgpu(t, "calibrate", "--in", exact, "--json")
	if code != 0 || !strings.Contains(out, `"sqnr_db":null`) {
		t.Errorf("exact: %q", out)
	}
}

func TestCalibrateUsageErrors(t *testing.T) {
	dir := t.TempDir()
	in := writeF32(t, dir, "x.npy", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	ints := filepath.Join(dir, "i.npy")
	writeNPY(t, ints, i32([]int{2}, 1, 2))
	cases := []struct {
		args []string
		want string
	}{
		{[]string{}, "--in is required"},
		{[]string{"--in", in, "--method", "mse"}, `unknown --method "mse": want minmax, moving-average, torch-histogram`},
		{[]string{"--in", in, "--method", "histgram"}, `unknown --method "histgram" (did you mean histogram (= l2)?)`},
		{[]string{"--in", in, "--method", "torch-histogram", "--axis", "0"}, "--method torch-histogram is per tensor"},
		{[]string{"--in", in, "--method", "torch-histogram", "--bins", "40000"}, "torch histogram bins 40000 outside [16, 32767]"},
		{[]string{"--in", in, "--qmin", "0"}, "--qmin and --qmax go together"},
		{[]string{"--in", in, "--qmax", "5"}, "--qmin and --qmax go together"},
		{[]string{"--in", in, "--qmin", "1", "--qmax", "5"}, "must include 0"},
		{[]string{"--in", in, "--dtype", "int8", "--qmin", "-200", "--qmax", "5"}, "outside the range"},
		{[]string{"--in", in, "--dtype", "uint8", "--scheme", "symmetric", "--reduce-range"}, "cannot reduce the range"},
		{[]string{"--in", in, "--dtype", "float32"}, `--dtype "float32"`},
		{[]string{"--in", in, "--scheme", "asym"}, `--scheme "asym"`},
		{[]string{"--in", in, "--axis", "2"}, "--axis 2 out of range"},
		{[]string{"--in", in, "--axis", "-3"}, "--axis -3 out of range"},
		{[]string{"--in", in, "--batches", "0"}, "--batches 0"},
		{[]string{"--in", in, "--method", "percentile", "--percentile", "0.9999"}, "percentage in [50, 100]"},
		{[]string{"--in", in, "--method", "moving-average", "--averaging-constant", "0"}, "outside (0, 1]"},
		{[]string{"--in", in, "--method", "minmax", "--averaging-constant", "0.1"}, "moving-average only"},
		{[]string{"--in", in, "--method", "kl", "--percentile", "99"}, "percentile only"},
		{[]string{"--in", in, "--method", "minmax", "--bins", "512"}, "histogram methods only"},
		{[]string{"--in", in, "--method", "kl", "--bins", "8"}, "--bins 8 outside"},
		{[]string{"--in", in, "--method", "all", "--axis", "0"}, "--method all is per tensor"},
		{[]string{"--in", in, "--plot", "x.jpg"}, "must end in .png or .svg"},
		{[]string{"--in", in, "--backend", "tpu"}, `unknown backend "tpu"`},
		{[]string{"--in", filepath.Join(dir, "missing.npy")}, "missing.npy"},
		{[]string{"--in", ints}, "want float32"},
		{[]string{"--in", in, "extra"}, `unexpected argument "extra"`},
	}
	for _, c := range cases {
		wantError(t, 2, c.want, append([]string{"calibrate"}, c.args...)...)
	}
}

// studentT returns n samples of Student's t distribution with df degrees
// of freedom: Z / sqrt(V/df), V a sum of df squared normals.
func studentT(n, df int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 99))
	x := make([]float32, n)
	for i := range x {
		v := 0.0
		for range df {
			g := r.NormFloat64()
			v += g * g
		}
		x[i] = float32(r.NormFloat64() / math.Sqrt(v/float64(df)))
	}
	return x
}

func TestCalibrateAllHeavyTail(t *testing.T) {
	dir := t.TempDir()
	in := writeF32(t, dir, "t.npy", []int{1 << 18}, studentT(1<<18, 4, 1))
	code, out, stderr := qgpu(t, "calibrate", "--in", in, "--method", "all", "--json")
	if code != 0 {
		t.Fatal(stderr)
	}
	var all struct{ Results []calibResult }
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		t.Fatal(err)
	}
	sq := map[string]float64{}
	for _, r := range all.Results {
		sq[r.Method] = *r.SQNR
	}
	t.Logf("Student-t(4), 2^18 values, uint8 affine: SQNR dB %v", sq)
	// The heavy tail stretches the min/max range; the searches clip it and
	// quantize the bulk more finely.
	if !(sq["l2"] > sq["minmax"]+0.5 && sq["kl"] > sq["minmax"]) {
		t.Errorf("SQNR %v: want histogram and kl above minmax", sq)
	}
	// The table mentions every method.
	code, out, _ = qgpu(t, "calibrate", "--in", in, "--method", "all")
	for _, m := range append(calib.MethodNames(), "SQNR dB", "best SQNR") {
		if code != 0 || !strings.Contains(out, m) {
			t.Errorf("table lacks %q:\n%s", m, out)
		}
	}
}

func TestCalibratePlot(t *testing.T) {
	dir := t.TempDir()
	in := writeF32(t, dir, "t.npy", []int{4096}, studentT(4096, 3, 2))
	pngPath := filepath.Join(dir, "r.png")
	svgPath := filepath.Join(dir, "r.svg")
	for _, p := range []string{pngPath, svgPath} {
		if code, out, stderr := qgpu(t, "calibrate", "--in", in, "--method", "all", "--plot", p); code != 0 || !strings.Contains(out, "plot: "+p) {
			t.Fatalf("%s: exit %d %s %s", p, code, out, stderr)
		}
	}
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 200 {
		t.Errorf("PNG is %v", b)
	}
	svg, err := os.ReadFile(svgPath)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(svg))
	root := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" || !bytes.Contains(svg, []byte("kl")) {
		t.Errorf("SVG root %q, legend with kl: %v", root, bytes.Contains(svg, []byte("kl")))
	}
	// A single method may be plotted too.
	if code, _, stderr := qgpu(t, "calibrate", "--in", in, "--method", "kl", "--plot", pngPath); code != 0 {
		t.Errorf("single method plot: %s", stderr)
	}
}

// TestCalibrateAgainstTorch compares the CLI with PyTorch 1.13's observers
// fed the same numpy.array_split batches (testdata/calib_torch/gen.py).
func TestCalibrateAgainstTorch(t *testing.T) {
	dir := filepath.Join("testdata", "calib_torch")
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Cases []struct {
			Name      string
			Args      []string
			Scale     []float64
			ZeroPoint []int32 `json:"zero_point"`
		}
	}
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.Cases) < 10 {
		t.Fatalf("%d fixtures", len(fx.Cases))
	}
	for _, c := range fx.Cases {
		args := append([]string(nil), c.Args...)
		for i, a := range args {
			if strings.HasSuffix(a, ".npy") {
				args[i] = filepath.Join(dir, a)
			}
		}
		r := calibJSON(t, args...)
		if len(r.Scale) != len(c.Scale) || len(r.ZeroPoint) != len(c.ZeroPoint) {
			t.Errorf("%s: %d/%d values, torch %d/%d", c.Name, len(r.Scale), len(r.ZeroPoint), len(c.Scale), len(c.ZeroPoint))
			continue
		}
		for i := range c.Scale {
			// torch's float32 scale, printed exactly as a float64.
			if r.Scale[i] != float32(c.Scale[i]) || r.ZeroPoint[i] != c.ZeroPoint[i] {
				t.Errorf("%s [%d]: scale %v zp %d, torch %v %d", c.Name, i, r.Scale[i], r.ZeroPoint[i], float32(c.Scale[i]), c.ZeroPoint[i])
			}
		}
	}
}
