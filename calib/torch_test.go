package calib

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/qgpu/qgpu/qtensor"
)

// The fixtures come from testdata/gen_torch.py (torch 1.13).

type torchConfig struct {
	DType       string `json:"dtype"`
	Scheme      string `json:"scheme"`
	ReduceRange bool   `json:"reduce_range"`
	QMin        *int32 `json:"qmin"`
	QMax        *int32 `json:"qmax"`
}

func (c torchConfig) target(t *testing.T) Target {
	var tg Target
	switch c.DType {
	case "quint8":
		tg.DType = qtensor.Uint8
	case "qint8":
		tg.DType = qtensor.Int8
	default:
		t.Fatalf("dtype %q", c.DType)
	}
	if c.Scheme == "symmetric" {
		tg.Scheme = Symmetric
	}
	tg.ReduceRange = c.ReduceRange
	if c.QMin != nil {
		tg.Custom, tg.QMin, tg.QMax = true, *c.QMin, *c.QMax
	}
	return tg
}

type torchFixtures struct {
	Datasets map[string][][]uint32 `json:"datasets"`
	Tensor   []struct {
		Data      string      `json:"data"`
		Observer  string      `json:"observer"`
		Config    torchConfig `json:"config"`
		ScaleBits []uint32    `json:"scale_bits"`
		ZeroPoint []int32     `json:"zero_point"`
		MinBits   []uint32    `json:"min_bits"`
		MaxBits   []uint32    `json:"max_bits"`
	} `json:"tensor"`
	ChannelData map[string]struct {
		Shape   []int      `json:"shape"`
		Batches [][]uint32 `json:"batches"`
	} `json:"channel_data"`
	Channel []struct {
		Data      string      `json:"data"`
		Axis      int         `json:"axis"`
		Observer  string      `json:"observer"`
		Config    torchConfig `json:"config"`
		ScaleBits []uint32    `json:"scale_bits"`
		ZeroPoint []int32     `json:"zero_point"`
	} `json:"channel"`
	HistogramData map[string][][]uint32 `json:"histogram_data"`
	Histogram     []struct {
		Data      string      `json:"data"`
		Config    torchConfig `json:"config"`
		ScaleBits []uint32    `json:"scale_bits"`
		ZeroPoint []int32     `json:"zero_point"`
	} `json:"histogram"`
}

func loadTorch(t *testing.T) *torchFixtures {
	t.Helper()
	b, err := os.ReadFile("testdata/torch_fixtures.json")
	if err != nil {
		t.Fatal(err)
	}
	var f torchFixtures
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return &f
}

func floats(b []uint32) []float32 {
	x := make([]float32, len(b))
	for i, v := range b {
		x[i] = math.Float32frombits(v)
	}
	return x
}

func TestTorchTensorObservers(t *testing.T) {
	f := loadTorch(t)
	if len(f.Tensor) < 500 {
		t.Fatalf("only %d tensor fixtures", len(f.Tensor))
	}
	ctx := context.Background()
	for _, c := range f.Tensor {
		var o RangeObserver
		switch c.Observer {
		case "minmax":
			o = &MinMaxObserver{}
		case "moving_average":
			o = &MovingAverageMinMaxObserver{}
		case "moving_average_c0.25":
			o = &MovingAverageMinMaxObserver{Constant: 0.25}
		default:
			t.Fatalf("observer %q", c.Observer)
		}
		for _, b := range f.Datasets[c.Data] {
			if err := o.Observe(ctx, floats(b), nil); err != nil {
				t.Fatal(err)
			}
		}
		tg := c.Config.target(t)
		lo, hi, err := o.Range(tg)
		if err != nil {
			t.Fatalf("%s %s %+v: %v", c.Data, c.Observer, c.Config, err)
		}
		if math.Float32bits(lo) != c.MinBits[0] || math.Float32bits(hi) != c.MaxBits[0] {
			t.Errorf("%s %s: range [%g, %g], torch [%g, %g]", c.Data, c.Observer, lo, hi, math.Float32frombits(c.MinBits[0]), math.Float32frombits(c.MaxBits[0]))
		}
		p, err := TensorParams(o, tg)
		if err != nil {
			t.Fatalf("%s %s %+v: %v", c.Data, c.Observer, c.Config, err)
		}
		if math.Float32bits(p.Scales[0]) != c.ScaleBits[0] || p.ZeroPoints[0] != c.ZeroPoint[0] {
			t.Errorf("%s %s %+v: scale %g (%#x) zp %d, torch %g (%#x) zp %d", c.Data, c.Observer, c.Config,
				p.Scales[0], math.Float32bits(p.Scales[0]), p.ZeroPoints[0], math.Float32frombits(c.ScaleBits[0]), c.ScaleBits[0], c.ZeroPoint[0])
		}
	}
}

func TestTorchPerChannelObservers(t *testing.T) {
	f := loadTorch(t)
	if len(f.Channel) < 100 {
		t.Fatalf("only %d channel fixtures", len(f.Channel))
	}
	ctx := context.Background()
	for _, c := range f.Channel {
		d := f.ChannelData[c.Data]
		o := &PerChannelMinMaxObserver{Axis: c.Axis, Averaging: c.Observer == "moving_average"}
		for _, b := range d.Batches {
			if err := o.Observe(ctx, floats(b), d.Shape); err != nil {
				t.Fatal(err)
			}
		}
		p, err := o.Params(c.Config.target(t))
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Scales) != len(c.ScaleBits) || p.Axis != c.Axis {
			t.Fatalf("%s axis %d: %d scales, torch %d", c.Data, c.Axis, len(p.Scales), len(c.ScaleBits))
		}
		for i := range p.Scales {
			if math.Float32bits(p.Scales[i]) != c.ScaleBits[i] || p.ZeroPoints[i] != c.ZeroPoint[i] {
				t.Errorf("%s axis %d %s %+v ch %d: scale %g zp %d, torch %g zp %d", c.Data, c.Axis, c.Observer, c.Config, i,
					p.Scales[i], p.ZeroPoints[i], math.Float32frombits(c.ScaleBits[i]), c.ZeroPoint[i])
			}
		}
	}
}
