package quantize

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/onnx/onnxpb"
)

// graphCache keeps a model built by package graph for the input shapes of
// the latest batches (package graph fixes every shape at build time).
type graphCache struct {
	src         *onnxpb.ModelProto
	dims        map[string]int
	maxElements int

	mu     sync.Mutex
	graphs []builtFor // most recently used last
}

type builtFor struct {
	key string
	g   *graph.Graph
}

// maxGraphs bounds the graphs a cache keeps (one per set of input
// shapes: a calibration usually has one, plus a short last batch).
const maxGraphs = 2

func newGraphCache(src *onnxpb.ModelProto, dims map[string]int, maxElements int) *graphCache {
	return &graphCache{src: src, dims: dims, maxElements: maxElements}
}

// shapeKey identifies a set of input shapes.
func (c *graphCache) shapeKey(shapes map[string][]int) string {
	var b strings.Builder
	for _, in := range c.src.GetGraph().GetInput() {
		if s, ok := shapes[in.GetName()]; ok {
			fmt.Fprintf(&b, "%s%v;", in.GetName(), s)
		}
	}
	return b.String()
}

// build returns the graph for the given input shapes.
func (c *graphCache) build(shapes map[string][]int) (*graph.Graph, error) {
	key := c.shapeKey(shapes)
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, bf := range c.graphs {
		if bf.key == key {
			c.graphs = append(slices.Delete(c.graphs, i, i+1), bf)
			return bf.g, nil
		}
	}
	g, err := graph.FromONNX(c.src, graph.Options{Shapes: shapes, Dims: c.dims, MaxElements: c.maxElements})
	if err != nil {
		return nil, fmt.Errorf("quantize: building the model for inputs %s: %w", key, err)
	}
	c.graphs = append(c.graphs, builtFor{key, g})
	if len(c.graphs) > maxGraphs {
		c.graphs = c.graphs[1:]
	}
	return g, nil
}

// get returns the graph for the shapes of b's tensors, and the batch's
// sample count (axis 0 of the first graph input).
func (c *graphCache) get(b Batch) (*graph.Graph, int, error) {
	shapes := map[string][]int{}
	n := -1
	for _, in := range c.src.GetGraph().GetInput() {
		t, ok := b[in.GetName()]
		if !ok {
			continue
		}
		if t == nil {
			return nil, 0, fmt.Errorf("%w: quantize: input %q is nil", ErrParams, in.GetName())
		}
		shapes[in.GetName()] = t.Shape
		if n < 0 {
			n = 1
			if len(t.Shape) > 0 {
				n = t.Shape[0]
			}
		}
	}
	for name := range b {
		if _, ok := shapes[name]; !ok {
			return nil, 0, fmt.Errorf("%w: quantize: the model has no input %q", ErrParams, name)
		}
	}
	if n < 0 {
		return nil, 0, fmt.Errorf("%w: quantize: empty batch", ErrParams)
	}
	g, err := c.build(shapes)
	return g, n, err
}
