package engine_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
)

// TestGemmEpilogueMatchesBatch checks backend.GemmEpilogue (what the CPU
// backend's packed weights validate with) against Batch.Gemm on the same
// 2-D operands and options: both accept or both reject (with the same
// error class and message, except where Batch.Gemm adds a hint about
// GemmOptions.TransposeB, which packed weights do not take), and when they
// accept, the epilogue and the output's type and params are the ones
// Batch.Gemm records.
func TestGemmEpilogueMatchesBatch(t *testing.T) {
	e := newCPU(t, 0)
	const M, K, N = 3, 5, 4
	wPer := qtensor.AxisParams(1, []float32{0.5, 0.25, 0.125, 1}, []int32{0, 1, -2, 3})
	aRows := qtensor.AxisParams(0, []float32{1, 1, 1}, []int32{1, 2, 3})
	q := engine.GemmOptions{Output: engine.OutQuantized, YType: qtensor.Uint8, YScale: 0.2, YZP: 7}
	for _, tc := range []struct {
		name   string
		at, wt qtensor.DType
		ap, wp qtensor.Params
		k      int
		o      engine.GemmOptions
		want   error  // nil: accepted
		host   string // in GemmEpilogue's message where it differs from Batch.Gemm's
	}{
		{"int32", qtensor.Uint8, qtensor.Int8, qtensor.TensorParams(0.1, 3), wPer, K, engine.GemmOptions{Bias: []int32{1, 2, 3, 4}}, nil, ""},
		{"int32 per-row A", qtensor.Int8, qtensor.Uint8, aRows, qtensor.TensorParams(0.1, 200), K, engine.GemmOptions{}, nil, ""},
		{"float", qtensor.Int8, qtensor.Int8, qtensor.TensorParams(0.1, -3), wPer, K, engine.GemmOptions{Output: engine.OutFloat32, FloatBias: []float32{1.5}}, nil, ""},
		{"float, explicit scales", qtensor.Uint8, qtensor.Int8, qtensor.TensorParams(0.1, 0), wPer, K, engine.GemmOptions{Output: engine.OutFloat32, AScale: 2, BScale: []float32{3}}, nil, ""},
		{"quantized", qtensor.Uint8, qtensor.Int8, qtensor.TensorParams(0.1, 0), wPer, K, q, nil, ""},
		{"quantized fixed relu", qtensor.Uint8, qtensor.Uint8, qtensor.TensorParams(0.1, 0), qtensor.TensorParams(0.3, 128),
			K, engine.GemmOptions{Output: engine.OutQuantized, YType: qtensor.Int8, YScale: 0.4, YZP: -5, Fixed: true, ReLU: true}, nil, ""},
		{"per-row A, float", qtensor.Int8, qtensor.Int8, aRows, wPer, K, engine.GemmOptions{Output: engine.OutFloat32}, engine.ErrParams, ""},
		{"W per-K", qtensor.Uint8, qtensor.Int8, qtensor.TensorParams(0.1, 0), qtensor.AxisParams(0, []float32{1, 1, 1, 1, 1}, []int32{0, 0, 0, 0, 0}), K, engine.GemmOptions{}, engine.ErrParams, "B is quantized per axis 0; only axis 1 is supported here"},
		{"bias length", qtensor.Uint8, qtensor.Int8, qtensor.TensorParams(0.1, 0), wPer, K, engine.GemmOptions{Bias: []int32{1, 2}}, engine.ErrParams, ""},
		{"ReLU on int32", qtensor.Uint8, qtensor.Int8, qtensor.TensorParams(0.1, 0), wPer, K, engine.GemmOptions{ReLU: true}, engine.ErrParams, ""},
		{"int32 output type", qtensor.Uint8, qtensor.Int8, qtensor.TensorParams(0.1, 0), wPer, K, engine.GemmOptions{Output: engine.OutQuantized, YType: qtensor.Int32, YScale: 1}, engine.ErrParams, ""},
		{"accumulator", qtensor.Uint8, qtensor.Int8, qtensor.TensorParams(0.1, 0), qtensor.TensorParams(1, -128), 40000, engine.GemmOptions{}, engine.ErrShape, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := e.Empty(tc.at, []int{M, tc.k}, tc.ap)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Release()
			w, err := e.Empty(tc.wt, []int{tc.k, N}, tc.wp)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Release()
			b := e.NewBatch()
			y, berr := b.Gemm(a, w, tc.o)
			ep, yt, yp, err := backend.GemmEpilogue(spec(tc.o), tc.at, tc.ap, tc.wt, tc.wp, M, tc.k, N)
			if tc.want != nil {
				if !errors.Is(berr, tc.want) || !errors.Is(err, tc.want) {
					t.Fatalf("Batch.Gemm error %v, GemmEpilogue error %v; want both wrapping %v", berr, err, tc.want)
				}
				if tc.host != "" {
					if !strings.Contains(err.Error(), tc.host) {
						t.Errorf("GemmEpilogue error %v, want it to contain %q", err, tc.host)
					}
				} else if berr.Error() != err.Error() {
					t.Errorf("messages differ:\n Batch.Gemm:   %v\n GemmEpilogue: %v", berr, err)
				}
				return
			}
			if berr != nil || err != nil {
				t.Fatalf("Batch.Gemm error %v, GemmEpilogue error %v; want both nil", berr, err)
			}
			defer y.Release()
			op := b.Ops()[0].(*backend.Gemm)
			if !reflect.DeepEqual(ep, op.Epilogue) {
				t.Errorf("epilogue %+v, Batch.Gemm recorded %+v", ep, op.Epilogue)
			}
			if yt != y.DType() || !reflect.DeepEqual(yp, y.Params()) {
				t.Errorf("output %v %+v, Batch.Gemm gave %v %+v", yt, yp, y.DType(), y.Params())
			}
			if !reflect.DeepEqual(op.AZP, tc.ap.ZeroPoints) || !reflect.DeepEqual(op.BZP, tc.wp.ZeroPoints) {
				t.Errorf("Batch.Gemm's zero points %v, %v are not the params' %v, %v", op.AZP, op.BZP, tc.ap.ZeroPoints, tc.wp.ZeroPoints)
			}
		})
	}
	if _, _, _, err := backend.GemmEpilogue(&backend.OutputSpec{}, qtensor.Uint8, qtensor.TensorParams(1, 0), qtensor.Int8, qtensor.TensorParams(1, 0), 0, 1, 1); !errors.Is(err, engine.ErrShape) {
		t.Errorf("M=0: error %v, want ErrShape", err)
	}
}

// spec is o's output fields as a backend.OutputSpec.
func spec(o engine.GemmOptions) *backend.OutputSpec {
	return &backend.OutputSpec{Output: o.Output, Bias: o.Bias, AScale: o.AScale, WScale: o.BScale, FloatBias: o.FloatBias,
		YType: o.YType, YScale: o.YScale, YZP: o.YZP, Fixed: o.Fixed, ReLU: o.ReLU}
}
