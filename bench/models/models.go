// Package models records whole quantized networks with the engine API, for
// benchmarks: ResNet-50 v1.5 and MobileNetV2 at N = 1, 224x224, with
// random int8 per-channel weights (a fixed seed) and uint8 activations.
// Every convolution has a quantized uint8 output with its ReLU fused where
// the network has one (ReLU stands in for MobileNetV2's ReLU6); the
// timing of an op does not depend on its scales, so all activations share
// one.
package models

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// Model is a recorded network.
type Model struct {
	Name string
	// Ops counts the operations of its convolutions, 2 per multiply-add.
	Ops float64
	// Tensors are the input, the weights and every output; Release frees
	// them.
	Tensors []*engine.Tensor
}

// Release frees the model's tensors.
func (m *Model) Release() {
	for _, t := range m.Tensors {
		t.Release()
	}
	m.Tensors = nil
}

// act is the activation scale.
const act = 0.05

var builders = map[string]func(*builder) error{
	"resnet50":    resnet50,
	"mobilenetv2": mobilenetV2,
}

// Names returns the models Build knows, sorted.
func Names() []string {
	var n []string
	for k := range builders {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}

// Build records the model name on e, each op on the batch next returns
// (the same batch for one submission of the whole network, or a new one
// per op to time the ops apart).
func Build(name string, e *engine.Engine, next func() *engine.Batch) (*Model, error) {
	f, ok := builders[name]
	if !ok {
		return nil, fmt.Errorf("models: unknown model %q (want one of %v)", name, Names())
	}
	b := &builder{e: e, next: next, rng: rand.New(rand.NewPCG(uint64(len(name)), 50)), m: &Model{Name: name}}
	if err := f(b); err != nil {
		b.m.Release()
		return nil, fmt.Errorf("models: %s: %w", name, err)
	}
	return b.m, nil
}

type builder struct {
	e    *engine.Engine
	next func() *engine.Batch
	rng  *rand.Rand
	m    *Model
}

func (b *builder) bytes(n int) []byte {
	d := make([]byte, n)
	for i := range d {
		d[i] = byte(b.rng.Uint32())
	}
	return d
}

func (b *builder) keep(t *engine.Tensor, err error) (*engine.Tensor, error) {
	if err == nil {
		b.m.Tensors = append(b.m.Tensors, t)
	}
	return t, err
}

func (b *builder) input() (*engine.Tensor, error) {
	return b.keep(b.e.Upload(&qtensor.Tensor{DType: qtensor.Uint8, Shape: []int{1, 3, 224, 224},
		Params: qtensor.TensorParams(act, 128), Data: b.bytes(3 * 224 * 224)}))
}

// conv records a k x k convolution of x to o channels (stride, groups,
// "same" padding) with a quantized uint8 output.
func (b *builder) conv(x *engine.Tensor, o, k, stride, group int, relu bool) (*engine.Tensor, error) {
	c := x.Dim(1) / group
	scales, zps := make([]float32, o), make([]int32, o)
	for i := range scales {
		scales[i] = 0.002 + 0.002*b.rng.Float32()
	}
	w, err := b.keep(b.e.Upload(&qtensor.Tensor{DType: qtensor.Int8, Shape: []int{o, c, k, k},
		Params: qtensor.AxisParams(0, scales, zps), Data: b.bytes(o * c * k * k)}))
	if err != nil {
		return nil, err
	}
	p := k / 2
	y, err := b.keep(b.next().Conv(x, w, engine.ConvOptions{Pads: []int{p, p, p, p}, Strides: []int{stride, stride}, Group: group,
		Output: engine.OutQuantized, YType: qtensor.Uint8, YScale: act, YZP: 0, ReLU: relu}))
	if err != nil {
		return nil, err
	}
	b.m.Ops += 2 * float64(o) * float64(y.Dim(2)*y.Dim(3)) * float64(c*k*k)
	return y, nil
}

// resnet50 records ResNet-50 v1.5 (the stride on the 3x3 convolution): the
// 7x7/2 stem, the 3x3/2 max pool, 16 bottleneck blocks whose residual Add
// is followed by a ReLU, the global average pool and the classifier as a
// 1x1 convolution: 53 convolutions, 88 ops.
func resnet50(b *builder) error {
	x, err := b.input()
	if err != nil {
		return err
	}
	h, err := b.conv(x, 64, 7, 2, 1, true)
	if err != nil {
		return err
	}
	if h, err = b.keep(b.next().MaxPool(h, engine.PoolOptions{Kernel: []int{3, 3}, Strides: []int{2, 2}, Pads: []int{1, 1, 1, 1}})); err != nil {
		return err
	}
	for stage, blocks := range []int{3, 4, 6, 3} {
		width := 64 << stage
		for i := range blocks {
			stride := 1
			if stage > 0 && i == 0 {
				stride = 2
			}
			short := h
			if i == 0 {
				if short, err = b.conv(h, 4*width, 1, stride, 1, false); err != nil {
					return err
				}
			}
			y, err := b.conv(h, width, 1, 1, 1, true)
			if err != nil {
				return err
			}
			if y, err = b.conv(y, width, 3, stride, 1, true); err != nil {
				return err
			}
			if y, err = b.conv(y, 4*width, 1, 1, 1, false); err != nil {
				return err
			}
			if y, err = b.keep(b.next().Add(y, short, act, 0)); err != nil {
				return err
			}
			if h, err = b.keep(b.next().ReLU(y)); err != nil {
				return err
			}
		}
	}
	if h, err = b.keep(b.next().AvgPool(h, engine.PoolOptions{Kernel: []int{7, 7}})); err != nil {
		return err
	}
	_, err = b.conv(h, 1000, 1, 1, 1, false)
	return err
}

// mobilenetV2 records MobileNetV2: the 3x3/2 stem, 17 inverted residual
// blocks (1x1 expansion with ReLU, 3x3 depthwise with ReLU, 1x1
// projection, and the residual Add where the shapes allow), the 1x1 to
// 1280 channels, the global average pool and the classifier: 52
// convolutions, 64 ops.
func mobilenetV2(b *builder) error {
	x, err := b.input()
	if err != nil {
		return err
	}
	h, err := b.conv(x, 32, 3, 2, 1, true)
	if err != nil {
		return err
	}
	for _, s := range [][4]int{{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}} {
		t, c, n, stride := s[0], s[1], s[2], s[3]
		for i := range n {
			if i > 0 {
				stride = 1
			}
			in := h.Dim(1)
			y := h
			if t != 1 {
				if y, err = b.conv(y, t*in, 1, 1, 1, true); err != nil {
					return err
				}
			}
			if y, err = b.conv(y, t*in, 3, stride, t*in, true); err != nil {
				return err
			}
			if y, err = b.conv(y, c, 1, 1, 1, false); err != nil {
				return err
			}
			if stride == 1 && in == c {
				if y, err = b.keep(b.next().Add(y, h, act, 0)); err != nil {
					return err
				}
			}
			h = y
		}
	}
	if h, err = b.conv(h, 1280, 1, 1, 1, true); err != nil {
		return err
	}
	if h, err = b.keep(b.next().AvgPool(h, engine.PoolOptions{Kernel: []int{7, 7}})); err != nil {
		return err
	}
	_, err = b.conv(h, 1000, 1, 1, 1, false)
	return err
}
