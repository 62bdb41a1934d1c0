package gputest

import (
	"context"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/qtensor"
)

// observe checks Engine.Observe on the device: a float32 tensor (NaN, ±Inf,
// ±0 and denormals mixed in) and a uint8 tensor quantized per channel,
// observed with the engine's reducer (whose passes then run on the device
// copy of the values), give the statistics and params of the same
// observers fed, on the host, the values computed here (the float data;
// float32(q - zp) * scale).
func observe(t *testing.T, tg *Target) {
	e := tg.Engine(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(20, 1))
	shape := []int{5, 9, 31}
	n := 5 * 9 * 31
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)), 1e-40, -1e-40}
	xf := make([]float32, n)
	for i := range xf {
		if r.IntN(12) == 0 {
			xf[i] = specials[r.IntN(len(specials))]
		} else {
			xf[i] = float32(r.NormFloat64() * 4)
		}
	}
	qp := qtensor.Params{Granularity: qtensor.PerAxis, Axis: 1}
	for c := range 9 {
		qp.Scales = append(qp.Scales, float32(c+1)/16)
		qp.ZeroPoints = append(qp.ZeroPoints, int32(c*30))
	}
	xq, err := qtensor.New(qtensor.Uint8, shape, qp)
	if err != nil {
		t.Fatal(err)
	}
	deq := make([]float32, n)
	for i := range deq {
		q, c := r.Int32N(256), (i/31)%9
		xq.Set(i, q)
		deq[i] = float32(q-qp.ZeroPoints[c]) * qp.Scales[c]
	}
	hf, err := qtensor.FromFloat32(shape, xf)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []struct {
		name   string
		h      *qtensor.Tensor
		values []float32
	}{{"float32", hf, xf}, {"uint8 per channel", xq, deq}} {
		d, err := e.Upload(in.h)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Release()
		for _, m := range []calib.Method{calib.MethodMinMax, calib.MethodL2, calib.MethodKL} {
			dev, err := calib.NewObserver(m, calib.ObserverOptions{Reducer: e.Reducer(), Bins: 300})
			if err != nil {
				t.Fatal(err)
			}
			host, _ := calib.NewObserver(m, calib.ObserverOptions{Bins: 300})
			for range 2 { // two batches: the histogram grows and merges
				if err := e.Observe(ctx, dev, d); err != nil {
					t.Fatal(err)
				}
				if err := host.Observe(ctx, in.values, shape); err != nil {
					t.Fatal(err)
				}
			}
			gp, gerr := dev.Params(calib.Uint8Affine)
			hp, herr := host.Params(calib.Uint8Affine)
			if gerr != nil || herr != nil || !reflect.DeepEqual(gp, hp) || dev.Stats() != host.Stats() {
				t.Errorf("%s, %v: params %+v (%v), stats %+v; host %+v (%v), %+v", in.name, m, gp, gerr, dev.Stats(), hp, herr, host.Stats())
			}
		}
		dev := &calib.PerChannelMinMaxObserver{Reducer: e.Reducer(), Axis: 1}
		host := &calib.PerChannelMinMaxObserver{Axis: 1}
		if err := e.Observe(ctx, dev, d); err != nil {
			t.Fatal(err)
		}
		if err := host.Observe(ctx, in.values, shape); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(dev.ChannelStats(), host.ChannelStats()) {
			t.Errorf("%s, per channel: %+v, host %+v", in.name, dev.ChannelStats(), host.ChannelStats())
		}
	}
}
