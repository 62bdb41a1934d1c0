package model_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/qgpu/qgpu/model"
	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/qtensor"
)

// The QDQ fixtures of testdata/qdq (made by their committed generator,
// independent of qgpu) carry ONNX Runtime 1.30's outputs for the same
// files: at graph optimization level "all" (ORT fuses DQ -> op -> Q into
// its integer QLinear* kernels) and "disabled" (every node as the ONNX
// spec defines it: DQ, float op, Q - the float interpreter's arithmetic).
//
// ortBound declares, per fixture, the largest difference allowed in units
// of the output's scale against each, and why. Exact (0) means the same
// bytes.
type ortBound struct {
	all, disabled float64
	why           string
}

var ortBounds = map[string]ortBound{
	// CNNs: ORT's fused kernels compute what the engine computes (exact
	// int32 accumulation, one float requantization with the same
	// multiplier; the averages through the same one rounding); the float
	// graph rounds a float convolution instead, which may land on the
	// other side of a half-integer: one unit.
	"tiny_cnn_op13.qdq":          {0, 1, "CNN: integer kernels like ORT's; one rounding-boundary unit against the float graph"},
	"resnet_tiny_op13.qdq":       {0, 1, "CNN: integer kernels like ORT's; one rounding-boundary unit against the float graph"},
	"resnet_tiny_op13.qdq_pc":    {0, 1, "CNN: integer kernels like ORT's; one rounding-boundary unit against the float graph"},
	"mobilenet_v2_tiny_op13.qdq": {0, 1, "CNN: integer kernels like ORT's; one rounding-boundary unit against the float graph"},
	"mobilenet_v2_tiny_op13.qdq_pc": {0, 1,
		"CNN: integer kernels like ORT's; one rounding-boundary unit against the float graph"},
	// Encoders: most of the block runs in float on the host (Transpose,
	// Softmax, LayerNormalization, Div...), exactly as the float graph;
	// ORT at level "all" uses its own QLinearSoftmax and QLinearAdd/Mul
	// roundings there, which differ from the float graph by up to two
	// units (fixtures.json: all_vs_disabled_max_steps).
	"encoder_relu_op13.qdq": {2, 1, "encoder: host float ops as the ONNX spec; ORT's fused softmax/add differ by up to 2 units"},
	"encoder_gelu_op17.qdq": {2, 1, "encoder: host float ops as the ONNX spec; ORT's fused softmax/add differ by up to 2 units"},
}

type ortManifest struct {
	Fixtures map[string]struct {
		Input string `json:"input"`
		Forms map[string]struct {
			Model       string  `json:"model"`
			ORT         string  `json:"ort_output"`
			ORTDisabled string  `json:"ort_disabled_output"`
			Scale       float64 `json:"output_scale"`
		} `json:"forms"`
	} `json:"fixtures"`
}

func loadNPY(t *testing.T, path string) *graph.Tensor {
	t.Helper()
	q, err := qtensor.LoadNPY(path)
	if err != nil {
		t.Fatal(err)
	}
	g, err := graph.FromQTensor(q)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// steps returns the largest |a - b| in units of scale.
func steps(a, b []float32, scale float64) float64 {
	m := 0.0
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-float64(b[i]))/scale)
	}
	return m
}

// TestAgainstORT runs every QDQ fixture and compares its output with ONNX
// Runtime's, within the declared bounds; the table of what was measured is
// logged (go test -v -run TestAgainstORT).
func TestAgainstORT(t *testing.T) {
	dir := filepath.Join("testdata", "qdq")
	data, err := os.ReadFile(filepath.Join(dir, "fixtures.json"))
	if os.IsNotExist(err) {
		t.Skip("no QDQ fixtures in testdata/qdq")
	}
	if err != nil {
		t.Fatal(err)
	}
	var man ortManifest
	if err := json.Unmarshal(data, &man); err != nil {
		t.Fatal(err)
	}
	var rows []string
	names := make([]string, 0, len(man.Fixtures))
	for n := range man.Fixtures {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		fx := man.Fixtures[name]
		for form, f := range fx.Forms {
			key := name + "." + form
			t.Run(key, func(t *testing.T) {
				b, ok := ortBounds[key]
				if !ok {
					t.Fatalf("no bound declared for fixture %s", key)
				}
				m, err := model.Load(filepath.Join(dir, f.Model), model.Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				x := loadNPY(t, filepath.Join(dir, fx.Input))
				out, err := m.Run(t.Context(), []model.NamedTensor{{Tensor: x}})
				if err != nil {
					t.Fatal(err)
				}
				got := out[0].Tensor.F32
				all, dis := loadNPY(t, filepath.Join(dir, f.ORT)).F32, loadNPY(t, filepath.Join(dir, f.ORTDisabled)).F32
				if len(all) != len(got) || len(dis) != len(got) {
					t.Fatalf("%d outputs, ORT %d and %d", len(got), len(all), len(dis))
				}
				sa, sd := steps(got, all, f.Scale), steps(got, dis, f.Scale)
				// A difference is a whole number of units; allow float
				// slack in the division.
				if sa > b.all+1e-3 {
					t.Errorf("%.3g units from ORT (level all), bound %g: %s", sa, b.all, b.why)
				}
				if sd > b.disabled+1e-3 {
					t.Errorf("%.3g units from ORT (level disabled), bound %g: %s", sd, b.disabled, b.why)
				}
				p := m.Plan()
				rows = append(rows, fmt.Sprintf("%s: vs ORT all %s, vs ORT disabled %s; %d engine nodes, %d host nodes, %d submission(s)",
					key, fmtSteps(sa), fmtSteps(sd), p.Counts()[model.OnEngine], p.Counts()[model.OnHost], p.Submissions))
			})
		}
	}
	sort.Strings(rows)
	for _, r := range rows {
		t.Log(r)
	}
}

func fmtSteps(v float64) string {
	if v == 0 {
		return "exact"
	}
	return fmt.Sprintf("%.0f unit(s)", v)
}
