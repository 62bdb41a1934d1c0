package calib

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/qgpu/qgpu/qtensor"
)

func TestQParamsByHand(t *testing.T) {
	uint4 := Target{DType: qtensor.Uint4, Scheme: Affine}
	int4s := Target{DType: qtensor.Int4, Scheme: Symmetric}
	cases := []struct {
		name   string
		lo, hi float32
		t      Target
		scale  float32
		zp     int32
	}{
		// scale = float32(2/255) is slightly above 2/255, so in float32
		// -1/scale = -127.49999 (not -127.5): rint gives -127 and zp = 127
		// (torch 1.13 prints the same: zero point 127, and -1 for qint8).
		{"uint8 affine [-1,1]", -1, 1, Uint8Affine, float32(2) / 255, 127},
		{"int8 affine [-1,1]", -1, 1, Int8Affine, float32(2) / 255, -1},
		{"uint8 affine [-1,1.5]", -1, 1.5, Uint8Affine, float32(2.5) / 255, 102}, // -1/(2.5/255) = -102 exactly
		{"int8 symmetric [-1,2]", -1, 2, Int8Symmetric, 2 / float32(127.5), 0},
		{"uint8 symmetric [-1,2]", -1, 2, Uint8Symmetric, 2 / float32(127.5), 128},
		{"uint8 affine positive only", 0.5, 3.25, Uint8Affine, float32(3.25) / 255, 0},
		{"uint8 affine negative only", -4, -1, Uint8Affine, float32(4) / 255, 255},
		{"int8 affine negative only", -4, -1, Int8Affine, float32(4) / 255, 127},
		{"constant zero uint8", 0, 0, Uint8Affine, Eps, 0},
		{"constant zero int8", 0, 0, Int8Affine, Eps, -128},
		{"constant zero symmetric", 0, 0, Int8Symmetric, Eps, 0},
		{"tiny range", -1e-10, 1e-10, Uint8Affine, Eps, 0},
		{"uint8 reduce", -1, 1, Target{DType: qtensor.Uint8, ReduceRange: true}, float32(2) / 127, 64},
		{"int8 reduce", -1, 1, Target{DType: qtensor.Int8, ReduceRange: true}, float32(2) / 127, 0},
		{"int8 symmetric reduce", -1, 2, Target{DType: qtensor.Int8, Scheme: Symmetric, ReduceRange: true}, 2 / float32(63.5), 0},
		{"uint4 affine", 0, 1.5, uint4, float32(1.5) / 15, 0},
		{"uint4 symmetric", -1, 1, Target{DType: qtensor.Uint4, Scheme: Symmetric}, 1 / float32(7.5), 8},
		{"int4 symmetric", -7, 7, int4s, 7 / float32(7.5), 0},
		{"int4 affine", -1, 2, Target{DType: qtensor.Int4}, float32(3) / 15, -3}, // -8 - round(-1/0.2 = -5) = -3
		{"custom uint8 0..15 symmetric", -1, 1, Target{DType: qtensor.Uint8, Scheme: Symmetric, Custom: true, QMin: 0, QMax: 15}, 1 / float32(7.5), 7},
		{"custom reduce", -1, 1, Target{DType: qtensor.Uint8, Custom: true, QMin: 0, QMax: 15, ReduceRange: true}, float32(2) / 7, 3}, // 0..7; -1/float32(2/7) = -3.4999998 -> 3
	}
	for _, c := range cases {
		s, zp, err := QParams(c.lo, c.hi, c.t)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if math.Float32bits(s) != math.Float32bits(c.scale) || zp != c.zp {
			t.Errorf("%s: got scale %g zp %d, want %g zp %d", c.name, s, zp, c.scale, c.zp)
		}
	}
}

func TestQParamsErrors(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	cases := []struct {
		name   string
		lo, hi float32
		t      Target
	}{
		{"nan", nan, 1, Uint8Affine},
		{"inf", 0, inf, Uint8Affine},
		{"min > max", 2, 1, Uint8Affine},
		{"overflowing width", -3e38, 3e38, Uint8Affine},
		{"float32 target", -1, 1, Target{DType: qtensor.Float32}},
		{"bad scheme", -1, 1, Target{DType: qtensor.Int8, Scheme: 7}},
		{"custom without 0", -1, 1, Target{DType: qtensor.Int8, Custom: true, QMin: 1, QMax: 10}},
		{"custom qmin == qmax", -1, 1, Target{DType: qtensor.Int8, Custom: true, QMin: 0, QMax: 0}},
		{"custom outside type", -1, 1, Target{DType: qtensor.Int4, Custom: true, QMin: -9, QMax: 7}},
		{"unsigned symmetric reduce", -1, 1, Target{DType: qtensor.Uint8, Scheme: Symmetric, ReduceRange: true}},
	}
	for _, c := range cases {
		if _, _, err := QParams(c.lo, c.hi, c.t); err == nil {
			t.Errorf("%s: no error", c.name)
		} else if !errors.Is(err, qtensor.ErrParams) {
			t.Errorf("%s: error %v does not wrap qtensor.ErrParams", c.name, err)
		}
	}
}

func TestObserversBadData(t *testing.T) {
	ctx := context.Background()
	nan := float32(math.NaN())
	pinf, ninf := float32(math.Inf(1)), float32(math.Inf(-1))
	newObs := map[string]func() RangeObserver{
		"minmax":  func() RangeObserver { return &MinMaxObserver{} },
		"moving":  func() RangeObserver { return &MovingAverageMinMaxObserver{} },
		"hist-l2": func() RangeObserver { o, _ := NewHistogramObserver(MethodL2, 0, nil); return o },
		"hist-kl": func() RangeObserver { o, _ := NewHistogramObserver(MethodKL, 64, nil); return o },
	}
	for name, mk := range newObs {
		// no batch, empty batch, all-NaN/Inf batch: ErrNoData
		for _, batches := range [][][]float32{nil, {{}}, {{nan, nan}, {pinf, ninf}}} {
			o := mk()
			for _, b := range batches {
				if err := o.Observe(ctx, b, nil); err != nil {
					t.Fatal(err)
				}
			}
			if _, _, err := o.Range(Uint8Affine); !errors.Is(err, ErrNoData) {
				t.Errorf("%s %v: err %v, want ErrNoData", name, batches, err)
			}
		}
		// NaN/Inf are counted and left out; constant data and single elements give valid params.
		for _, c := range []struct {
			x      []float32
			lo, hi float32
		}{
			{[]float32{nan, 1, pinf, -2, ninf, nan}, -2, 1},
			{[]float32{3.25, 3.25, 3.25}, 3.25, 3.25},
			{[]float32{-0.7}, -0.7, -0.7},
			{[]float32{1e-30, -1e-30}, -1e-30, 1e-30},
		} {
			o := mk()
			if err := o.Observe(ctx, c.x, nil); err != nil {
				t.Fatal(err)
			}
			st := o.Stats()
			var nn, np, ng int64
			for _, v := range c.x {
				switch {
				case v != v:
					nn++
				case v > 0 && math.IsInf(float64(v), 1):
					np++
				case math.IsInf(float64(v), -1):
					ng++
				}
			}
			if st.NaN != nn || st.PosInf != np || st.NegInf != ng || st.Count != int64(len(c.x))-nn-np-ng {
				t.Errorf("%s %v: stats %+v", name, c.x, st)
			}
			if st.Min != c.lo || st.Max != c.hi {
				t.Errorf("%s %v: stats range [%g, %g], want [%g, %g]", name, c.x, st.Min, st.Max, c.lo, c.hi)
			}
			for _, tg := range []Target{Uint8Affine, Int8Symmetric, Int8Affine} {
				p, err := TensorParams(o, tg)
				if err != nil {
					t.Errorf("%s %v: %v", name, c.x, err)
					continue
				}
				if err := p.Validate(tg.DType, []int{len(c.x)}); err != nil {
					t.Errorf("%s %v: invalid params: %v", name, c.x, err)
				}
			}
		}
	}
}

func TestMinMaxNegativeZero(t *testing.T) {
	negz := float32(math.Copysign(0, -1))
	for _, x := range [][]float32{{negz}, {negz, negz}, {1, negz}, {negz, -1}} {
		st, err := HostReducer{}.MinMax(context.Background(), x, 1, len(x))
		if err != nil {
			t.Fatal(err)
		}
		if math.Signbit(float64(st[0].Min)) && st[0].Min == 0 || math.Signbit(float64(st[0].Max)) && st[0].Max == 0 {
			t.Errorf("%v: -0 in result %+v", x, st[0])
		}
	}
}

func TestMinMaxShapes(t *testing.T) {
	ctx := context.Background()
	// [outer=2][channels=3][inner=2]
	x := []float32{1, 2, 3, 4, 5, 6, -1, 7, float32(math.NaN()), 0, 9, -9}
	st, err := HostReducer{}.MinMax(ctx, x, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []RangeStats{{Min: -1, Max: 7, Count: 4}, {Min: 0, Max: 4, Count: 3, NaN: 1}, {Min: -9, Max: 9, Count: 4}}
	for i := range want {
		if st[i] != want[i] {
			t.Errorf("channel %d: %+v want %+v", i, st[i], want[i])
		}
	}
	for _, c := range [][2]int{{0, 2}, {3, 0}, {5, 1}, {-1, 1}} {
		if _, err := (HostReducer{}).MinMax(ctx, x, c[0], c[1]); err == nil {
			t.Errorf("channels %d inner %d: no error", c[0], c[1])
		}
	}
	o := &PerChannelMinMaxObserver{Axis: 1}
	if err := o.Observe(ctx, x, []int{2, 3, 2}); err != nil {
		t.Fatal(err)
	}
	if err := o.Observe(ctx, x[:8], []int{2, 4}); err == nil {
		t.Error("channel count change: no error")
	}
	if err := o.Observe(ctx, x, []int{2, 3, 3}); err == nil {
		t.Error("shape/data mismatch: no error")
	}
	if err := (&PerChannelMinMaxObserver{Axis: 3}).Observe(ctx, x, []int{2, 3, 2}); err == nil {
		t.Error("axis out of range: no error")
	}
	lo, hi, err := o.Ranges()
	if err != nil {
		t.Fatal(err)
	}
	if lo[1] != 0 || hi[1] != 4 || lo[2] != -9 {
		t.Errorf("ranges %v %v", lo, hi)
	}
}

func TestSQNRByHand(t *testing.T) {
	// exact round trip: +Inf
	if v, err := SQNRTensor([]float32{0, 1, 2, 3}, 1, 0, Uint8Affine); err != nil || !math.IsInf(v, 1) {
		t.Errorf("exact: %v %v", v, err)
	}
	// all zeros: exact, +Inf
	if v, err := SQNRTensor([]float32{0, 0}, 1, 0, Uint8Affine); err != nil || !math.IsInf(v, 1) {
		t.Errorf("zeros: %v %v", v, err)
	}
	// 0.5 -> rint(0.5) = 0 -> error 0.5: signal 0.25, noise 0.25 -> 0 dB; 3 -> exact.
	// x = {0.5, 3}: signal 9.25, noise 0.25 -> 10*log10(37)
	if v, err := SQNRTensor([]float32{0.5, 3, float32(math.NaN())}, 1, 0, Uint8Affine); err != nil || math.Abs(v-10*math.Log10(37)) > 1e-12 {
		t.Errorf("0.5,3: %v %v", v, err)
	}
	// clipping: 300 with scale 1 uint8 -> 255, error 45
	if v, err := SQNRTensor([]float32{300}, 1, 0, Uint8Affine); err != nil || math.Abs(v-10*math.Log10(90000.0/2025)) > 1e-12 {
		t.Errorf("clip: %v %v", v, err)
	}
	// per-channel along axis 0 of [2][2]: channel 0 scale 1 (exact), channel 1 scale 2: 1 -> rint(0.5)=0
	p := qtensor.AxisParams(0, []float32{1, 2}, []int32{0, 0})
	if v, err := SQNR([]float32{1, 2, 1, 4}, []int{2, 2}, p, Int8Symmetric); err != nil || math.Abs(v-10*math.Log10(22)) > 1e-12 {
		t.Errorf("per-channel: %v %v", v, err)
	}
	if _, err := SQNRTensor([]float32{float32(math.NaN())}, 1, 0, Uint8Affine); !errors.Is(err, ErrNoData) {
		t.Errorf("all NaN: %v", err)
	}
	if _, err := SQNR([]float32{1, 2}, []int{3}, qtensor.TensorParams(1, 0), Uint8Affine); err == nil {
		t.Error("shape mismatch: no error")
	}
	if _, err := SQNRTensor([]float32{1}, 0, 0, Uint8Affine); err == nil {
		t.Error("zero scale: no error")
	}
}
