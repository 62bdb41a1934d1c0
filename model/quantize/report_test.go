package quantize

import (
	"context"
	"encoding/json"
	"math"
	"testing"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/qtensor"
)

// TestCompare checks the error report against sums computed here from
// the two models' outputs (run by the interpreter directly) and against
// calib.SQNR for the graph input, whose value in the QDQ model is its
// own round trip.
func TestCompare(t *testing.T) {
	x := fashionImages(t)
	fm := loadFashion(t)
	res, err := QuantizeModel(context.Background(), fm, split(t, x, 64), Options{PerChannel: true})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Config{Backend: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	rep, err := Compare(context.Background(), fm, res.Model, split(t, x, 24, 40), CompareOptions{Engine: eng})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Runs != 2 || rep.Samples != 64 || len(rep.Outputs) != 1 {
		t.Fatalf("report %+v", rep)
	}
	// Ranked worst first.
	for i := 1; i < len(rep.Tensors); i++ {
		if rep.Tensors[i].SQNR < rep.Tensors[i-1].SQNR {
			t.Fatalf("not ranked: %v before %v", rep.Tensors[i-1].SQNR, rep.Tensors[i].SQNR)
		}
	}
	// The output, by hand.
	in, _ := graph.FromFloat32([]int{64, 1, 28, 28}, x)
	f := runModel(t, fm, Batch{"input": in})["logits"].F32
	q := runModel(t, res.Model, Batch{"input": in})["logits"].F32
	var sig, noise float64
	agree := 0
	for i := range f {
		sig += float64(f[i]) * float64(f[i])
		noise += (float64(f[i]) - float64(q[i])) * (float64(f[i]) - float64(q[i]))
	}
	for r := range 64 {
		if argmax(f[r*10:r*10+10]) == argmax(q[r*10:r*10+10]) {
			agree++
		}
	}
	o := rep.Outputs[0]
	if want := 10 * math.Log10(sig/noise); math.Abs(float64(o.SQNR)-want) > 1e-9 || *o.Top1 != float64(agree)/64 {
		t.Errorf("output SQNR %v top-1 %v, want %v %v", o.SQNR, *o.Top1, want, float64(agree)/64)
	}
	if o.Runtime == nil || o.Runtime.Backend != "cpu" || o.Runtime.Top1 == nil || *o.Runtime.InterpTop1 < 63.0/64 || math.Abs(float64(o.Runtime.SQNR-o.SQNR)) > 1 {
		t.Errorf("runtime %+v", o.Runtime)
	}
	// The input: quantized by its own Q/DQ, so both SQNRs are calib.SQNR's.
	var te *TensorError
	for i := range rep.Tensors {
		if rep.Tensors[i].Name == "input" {
			te = &rep.Tensors[i]
		}
	}
	ti := res.Tensor("input")
	want, err := calib.SQNR(x, []int{len(x)}, qtensor.TensorParams(ti.Scale[0], ti.ZeroPoint[0]), calib.Uint8Affine)
	if err != nil {
		t.Fatal(err)
	}
	if te == nil || math.Abs(float64(te.SQNR)-want) > 1e-9 || math.Abs(float64(te.OwnSQNR)-want) > 1e-9 || te.Clipped != 0 || te.Count != int64(len(x)) {
		t.Errorf("input %+v, want SQNR %v", te, want)
	}
	// Weights are compared once; a per-channel weight has no single range.
	for _, te := range rep.Tensors {
		if te.Kind == Weight && (te.Axis != 0 || te.Range != nil || te.Count == 0) {
			t.Errorf("weight %+v", te)
		}
	}
	// JSON: +Inf is null, and the report round-trips.
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Outputs[0].SQNR != DB(math.Round(float64(o.SQNR)*1000)/1000) {
		t.Errorf("JSON round trip: %v vs %v", back.Outputs[0].SQNR, o.SQNR)
	}
	if d, _ := json.Marshal(DB(math.Inf(1))); string(d) != "null" {
		t.Errorf("+Inf as %s", d)
	}
}
