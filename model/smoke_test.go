package model_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/qgpu/qgpu/model"
	"github.com/qgpu/qgpu/model/interp"
	"github.com/qgpu/qgpu/onnx"
)

func TestSmoke(t *testing.T) {
	b := newBuilder(t, 1)
	x := b.input("x", 1, 3, 8, 8)
	xq := b.qdq(x, onnx.Uint8, 0.02, 128)
	w, _, ws := b.weights([]int{4, 3, 3, 3}, 0, 0.01)
	bias, _ := b.bias(4, 0.02, ws)
	c := b.node("Conv", []string{xq, w, bias}, aInts("pads", 1, 1, 1, 1))
	r := b.node("Relu", []string{c})
	y := b.dq(b.q(r, onnx.Uint8, 0.03, 0), onnx.Uint8, 0.03, 0)
	b.output(y)
	m := b.load(model.Options{})
	t.Log("\n" + m.Plan().String())
	in := randInput(rand.New(rand.NewPCG(1, 2)), []int{1, 3, 8, 8}, -2, 2)
	out, err := m.Run(context.Background(), []model.NamedTensor{{Tensor: in}})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := interp.Run(context.Background(), b.graph(), map[string]*model.Tensor{"x": in}, nil)
	if err != nil {
		t.Fatal(err)
	}
	diff := 0
	for i, v := range out[0].Tensor.F32 {
		if v != ref[y].F32[i] {
			diff++
		}
	}
	t.Logf("%d of %d differ", diff, len(out[0].Tensor.F32))
}
