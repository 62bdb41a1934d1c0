package quantize

import (
	"bytes"
	"context"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/qgpu/qgpu/backends/cpu"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/model"
	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/onnx"
	"github.com/qgpu/qgpu/qtensor"
)

var writeORT = flag.Bool("write-ort", false, "TestAgainstORT: write the QDQ model and the input images for gen_fixtures.sh")

// The fixture of TestAgainstORT (testdata/fashion/gen_fixtures.sh): the QDQ
// model this package makes from the Fashion-MNIST CNN with the 64
// committed images (min-max, per tensor), and ONNX Runtime's outputs
// (1.30, CPU execution provider, all graph optimizations: its QLinearConv
// and friends) on those images.
var (
	ortModel  = filepath.Join(fashionDir, "fashion_cnn_qdq.onnx")
	ortOutput = filepath.Join(fashionDir, "fashion_cnn_qdq.ort.npy")
)

// TestAgainstORT checks that ONNX Runtime runs the QDQ model this package
// writes and agrees with the reference interpreter running it and with
// qgpu's quantized runtime (CPU backend) running it: the same class for
// every image, and logits within a declared bound.
//
// The bound: ORT fuses DQ -> Conv -> Q into QLinearConv, which computes
// in integers and rounds the requantized accumulator once, while the
// interpreter rounds a float32 convolution of dequantized values; the
// two differ by one unit of the output scale where the value is within
// their rounding errors of a half (the same rule as the runtime's
// exactness note). One unit in an early layer could move later values by
// more; on these images the logits differ by at most one output step (the
// rounding of the last Gemm), and the bound is 2.
func TestAgainstORT(t *testing.T) {
	x := fashionImages(t)
	res, err := QuantizeModel(context.Background(), loadFashion(t), split(t, x, 64), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := encode(t, res.Model)
	if *writeORT {
		if err := os.WriteFile(ortModel, got, 0o644); err != nil {
			t.Fatal(err)
		}
		xt, err := qtensor.FromFloat32([]int{64, 1, 28, 28}, x)
		if err != nil {
			t.Fatal(err)
		}
		if err := qtensor.SaveNPY(filepath.Join(os.TempDir(), "qgpu_fashion_calib64.npy"), xt); err != nil {
			t.Fatal(err)
		}
		t.Skip("wrote the QDQ model and the input; run gen_fixtures.sh")
	}
	want, err := os.ReadFile(ortModel)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the quantizer no longer writes %s (the model ONNX Runtime ran): regenerate the fixture with testdata/fashion/gen_fixtures.sh", ortModel)
	}
	ortOut, err := qtensor.LoadNPY(ortOutput)
	if err != nil {
		t.Fatal(err)
	}
	in, err := graph.FromFloat32([]int{64, 1, 28, 28}, x)
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnx.Decode(want, onnx.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	y := runModel(t, m, Batch{"input": in})["logits"]
	o := ortOut.Float32s()
	if len(o) != len(y.F32) {
		t.Fatalf("ORT output %v, interpreter %v", ortOut.Shape, y.Shape)
	}
	step := float64(res.Tensor("logits").Scale[0])
	worst, agree := 0.0, 0
	for r := range 64 {
		if argmax(o[r*10:(r+1)*10]) == argmax(y.F32[r*10:(r+1)*10]) {
			agree++
		}
		for c := range 10 {
			worst = math.Max(worst, math.Abs(float64(o[r*10+c]-y.F32[r*10+c]))/step)
		}
	}
	t.Logf("ORT vs interpreter: top-1 agreement %d/64, largest difference %.0f output steps", agree, worst)
	if agree != 64 || worst > 2 {
		t.Errorf("ORT and the interpreter disagree: top-1 %d/64, %.1f output steps apart (bound 2)", agree, worst)
	}

	// qgpu's runtime: the model fully lowered onto the engine (integer
	// convolutions with one rounding, as ORT's QLinearConv), so the bound
	// is the same.
	eng, err := engine.New(engine.Config{Backend: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	rm, err := model.FromONNX(m, model.Options{Engine: eng, Batch: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer rm.Close()
	for _, np := range rm.Plan().Nodes {
		if np.Where == model.OnHost {
			t.Errorf("node %s runs on the host: %s", np.Node, np.Reason)
		}
	}
	ro, err := rm.Run(context.Background(), []model.NamedTensor{{Name: "input", Tensor: in}})
	if err != nil {
		t.Fatal(err)
	}
	r := ro[0].Tensor.F32
	worst, agree = 0, 0
	for i := range 64 {
		if argmax(o[i*10:(i+1)*10]) == argmax(r[i*10:(i+1)*10]) {
			agree++
		}
		for c := range 10 {
			worst = math.Max(worst, math.Abs(float64(o[i*10+c]-r[i*10+c]))/step)
		}
	}
	t.Logf("ORT vs qgpu runtime (cpu): top-1 agreement %d/64, largest difference %.0f output steps", agree, worst)
	if agree != 64 || worst > 2 {
		t.Errorf("ORT and the runtime disagree: top-1 %d/64, %.1f output steps apart (bound 2)", agree, worst)
	}
}
