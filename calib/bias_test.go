package calib

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"reflect"
	"testing"

	"github.com/qgpu/qgpu/qtensor"
)

// TestQuantizeBiasFixtures compares with ONNX Runtime's rule computed by
// numpy (testdata/gen_bias.py).
func TestQuantizeBiasFixtures(t *testing.T) {
	b, err := os.ReadFile("testdata/bias.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases []struct {
			Name       string
			BiasBits   []uint32 `json:"bias_bits"`
			XScaleBits uint32   `json:"x_scale_bits"`
			WScaleBits []uint32 `json:"w_scale_bits"`
			Q          []int32
			ScaleBits  []uint32 `json:"scale_bits"`
		}
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) < 5 {
		t.Fatalf("%d cases", len(f.Cases))
	}
	for _, c := range f.Cases {
		q, s, err := QuantizeBias(floats(c.BiasBits), math.Float32frombits(c.XScaleBits), floats(c.WScaleBits))
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		if !reflect.DeepEqual(q, c.Q) {
			t.Errorf("%s: %v, ORT rule %v", c.Name, q, c.Q)
		}
		if !reflect.DeepEqual(s, floats(c.ScaleBits)) {
			t.Errorf("%s: scales %v, ORT rule %v", c.Name, s, floats(c.ScaleBits))
		}
	}
}

func TestQuantizeBiasByHand(t *testing.T) {
	// scale 0.5 * 0.25 = 0.125: 0.3125 / 0.125 = 2.5 -> 2 (half to even),
	// 0.4375 -> 3.5 -> 4, -0.3125 -> -2, 1 -> 8.
	q, s, err := QuantizeBias([]float32{0.3125, 0.4375, -0.3125, 1}, 0.5, []float32{0.25})
	if err != nil || !reflect.DeepEqual(q, []int32{2, 4, -2, 8}) || !reflect.DeepEqual(s, []float32{0.125}) {
		t.Errorf("per tensor: %v %v %v", q, s, err)
	}
	// per channel: scales 0.5*0.25 and 0.5*2: 1/0.125 = 8, 3/1 = 3.
	q, s, err = QuantizeBias([]float32{1, 3}, 0.5, []float32{0.25, 2})
	if err != nil || !reflect.DeepEqual(q, []int32{8, 3}) || !reflect.DeepEqual(s, []float32{0.125, 1}) {
		t.Errorf("per channel: %v %v %v", q, s, err)
	}
	// The float32 product: 0.1f * 0.1f is 0.010000001 (not 0.01), so
	// 1 / it is 99.99999 and rounds to 100; the product is what ORT stores.
	q, s, err = QuantizeBias([]float32{1}, 0.1, []float32{0.1})
	if err != nil || q[0] != 100 || s[0] != float32(0.1)*float32(0.1) {
		t.Errorf("rounded product: %v %v %v", q, s, err)
	}
	// 2^31 - 1 fits; 2^31 does not (ORT would clip it to 2^31 - 1).
	if q, _, err := QuantizeBias([]float32{-0x1p31}, 1, []float32{1}); err != nil || q[0] != math.MinInt32 {
		t.Errorf("-2^31: %v %v", q, err)
	}
	for _, c := range []struct {
		bias   []float32
		xs     float32
		ws     []float32
		reason string
	}{
		{[]float32{0x1p31}, 1, []float32{1}, "outside int32"},
		{[]float32{1e6}, 1e-3, []float32{1e-4}, "outside int32"},
		{[]float32{float32(math.NaN())}, 1, []float32{1}, "NaN"},
		{[]float32{1, 2, 3}, 1, []float32{1, 2}, "2 weight scales"},
		{[]float32{1}, 0, []float32{1}, "input"},
		{[]float32{1}, 1, []float32{-1}, "weight channel 0"},
		{[]float32{1}, 0x1p-100, []float32{0x1p-100}, "not a usable"},
		{[]float32{1}, 0x1p100, []float32{0x1p100}, "not a usable"},
	} {
		_, _, err := QuantizeBias(c.bias, c.xs, c.ws)
		if !errors.Is(err, qtensor.ErrParams) || !contains(err.Error(), c.reason) {
			t.Errorf("QuantizeBias(%v, %g, %v): %v, want an ErrParams about %q", c.bias, c.xs, c.ws, err, c.reason)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
