package gpu

import (
	"context"
	"testing"

	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
	"github.com/qgpu/qgpu/shaders"
)

// TestPlanNBitsInt8: the int8 mode of MatMulNBits plans a preparing
// launch that writes a scratch after the aux words (and says so, so the
// GL backend orders the next launch after its writes), then the product
// reading it; the scratch holds a scale per row and block and the rows'
// int8 values in whole blocks, apart from the scales and zero points. The
// float mode plans one launch that writes no aux.
func TestPlanNBitsInt8(t *testing.T) {
	b, rt := newFake(t)
	const M, K, N, bs = 3, 40, 5, 16
	nb := (K + bs - 1) / bs
	op := &backend.MatMulNBits{A: tensor(t, b, qtensor.Float32, M, K), B: tensor(t, b, qtensor.Uint4, N, nb*bs), Y: tensor(t, b, qtensor.Float32, M, N),
		M: M, K: K, N: N, BlockSize: bs, Blocks: nb, RowLen: nb * bs, Scales: make([]float32, N*nb), ZeroPoints: make([]int32, N*nb),
		Mode: backend.NBitsInt8}
	p, err := PlanOp(op)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Launches) != 2 {
		t.Fatalf("%d launches, want 2", len(p.Launches))
	}
	prep, run := p.Launches[0].Params.(*shaders.NbitsParams), p.Launches[1].Params.(*shaders.NbitsParams)
	if prep.Mode != shaders.NBitsPrep || prep.Total != M*uint32(nb) || !p.Launches[0].WritesAux || p.Launches[0].Bind[SlotY] != nil {
		t.Errorf("first launch %+v (WritesAux %v), want NBitsPrep over %d rows and blocks writing only aux", prep, p.Launches[0].WritesAux, M*nb)
	}
	if run.Mode != shaders.NBitsInt8 || run.Total != M*N || p.Launches[1].WritesAux || run.Scratch != prep.Scratch || run.ScratchQA != prep.ScratchQA {
		t.Errorf("second launch %+v, want NBitsInt8 over the outputs reading the first's scratch", run)
	}
	scalesEnd := max(run.Scales+uint32(N*nb), run.ZeroPoints+uint32(N*nb))
	if run.Scratch < scalesEnd || run.ScratchQA < run.Scratch+2*M*uint32(nb) || uint32(len(p.Aux)) < run.ScratchQA+M*uint32(nb*bs/4) {
		t.Errorf("scratch at %d (scales) and %d (values), aux of %d words; the scales and zero points end at %d", run.Scratch, run.ScratchQA, len(p.Aux), scalesEnd)
	}
	if err := b.Run(context.Background(), []backend.Op{op}); err != nil {
		t.Fatal(err)
	}
	d := rt.submits[len(rt.submits)-1].Dispatches
	if len(d) != 2 || !d[0].WritesAux || d[1].WritesAux {
		t.Errorf("dispatches %d, WritesAux %v, %v: want the first only", len(d), len(d) > 0 && d[0].WritesAux, len(d) > 1 && d[1].WritesAux)
	}

	op.Mode = backend.NBitsFloat
	if p, err = PlanOp(op); err != nil {
		t.Fatal(err)
	}
	if len(p.Launches) != 1 || p.Launches[0].WritesAux {
		t.Errorf("float mode: %d launches (WritesAux %v), want 1 writing no aux", len(p.Launches), p.Launches[0].WritesAux)
	}
}
