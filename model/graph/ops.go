package graph

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// kernel computes a node's outputs from its inputs (nil for absent
// optional inputs). Kernels never modify their inputs. The returned slice
// has one entry per declared output of the op (entries for outputs the
// node does not name may be nil).
type kernel func(ec *execCtx, in []*Tensor) ([]*Tensor, error)

// execCtx carries per-run settings to kernels.
type execCtx struct {
	workers int
}

// parallelFor calls f(lo, hi) over a partition of [0, n) using up to
// ec.workers goroutines. Every index is processed by exactly one call and
// the computation for an index must not depend on the partition, which
// keeps results identical for any worker count.
func (ec *execCtx) parallelFor(n int, f func(lo, hi int)) {
	w := 1
	if ec != nil {
		w = ec.workers
	}
	if w > n {
		w = n
	}
	if w <= 1 {
		if n > 0 {
			f(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	for k := 0; k < w; k++ {
		lo, hi := k*n/w, (k+1)*n/w
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}

// prepCtx is what an op's prepare function sees: the node, its inputs'
// types and shapes, and the values of constant inputs. Attribute getters
// record the first error (so prepare functions read like declarations) and
// mark the attributes they read; prepare fails if a node carries an
// attribute its op does not read.
type prepCtx struct {
	n      *Node
	opset  int
	in     []ValueInfo // DType Invalid: absent input
	consts []*Tensor   // nil: not a constant
	limit  int
	used   map[string]bool
	err    error
	// foldAlways: the op's outputs depend only on its inputs' types and
	// shapes (Shape, Size), so it folds even with non-constant inputs.
	foldAlways bool
}

// fail records an error (the first one wins) wrapping kind.
func (c *prepCtx) fail(kind error, format string, a ...any) {
	if c.err == nil {
		c.err = errorf(kind, format, a...)
	}
}

func (c *prepCtx) attr(name string, t AttrType) (Attr, bool) {
	c.used[name] = true
	a, ok := c.n.Attrs[name]
	if !ok {
		return Attr{}, false
	}
	if a.Type != t {
		c.fail(ErrParams, "attribute %s is %v, want %v", name, a.Type, t)
		return Attr{}, false
	}
	return a, true
}

func (c *prepCtx) has(name string) bool {
	_, ok := c.n.Attrs[name]
	return ok
}

func (c *prepCtx) attrInt(name string, def int64) int64 {
	if a, ok := c.attr(name, AttrInt); ok {
		return a.Int
	}
	return def
}

// attrBool reads an int attribute that must be 0 or 1.
func (c *prepCtx) attrBool(name string, def bool) bool {
	d := int64(0)
	if def {
		d = 1
	}
	v := c.attrInt(name, d)
	if v != 0 && v != 1 {
		c.fail(ErrParams, "attribute %s is %d, want 0 or 1", name, v)
	}
	return v == 1
}

func (c *prepCtx) attrFloat(name string, def float32) float32 {
	if a, ok := c.attr(name, AttrFloat); ok {
		return a.Float
	}
	return def
}

func (c *prepCtx) attrString(name, def string) string {
	if a, ok := c.attr(name, AttrString); ok {
		return a.String
	}
	return def
}

// attrInts returns the attribute or def (nil def: absent).
func (c *prepCtx) attrInts(name string, def []int64) []int64 {
	if a, ok := c.attr(name, AttrInts); ok {
		return append([]int64{}, a.Ints...)
	}
	return def
}

func (c *prepCtx) attrFloats(name string, def []float32) []float32 {
	if a, ok := c.attr(name, AttrFloats); ok {
		return append([]float32{}, a.Floats...)
	}
	return def
}

// oneOf checks that a string attribute is one of the allowed values.
func (c *prepCtx) oneOf(name, v string, allowed ...string) {
	if !slices.Contains(allowed, v) {
		c.fail(ErrUnsupported, "attribute %s=%q (supported: %s)", name, v, strings.Join(allowed, ", "))
	}
}

// present reports whether input i is given.
func (c *prepCtx) present(i int) bool { return i < len(c.in) && c.in[i].DType != Invalid }

// nin checks the number of inputs.
func (c *prepCtx) nin(lo, hi int) {
	if len(c.in) < lo || len(c.in) > hi {
		if lo == hi {
			c.fail(ErrParams, "takes %d inputs, has %d", lo, len(c.in))
		} else {
			c.fail(ErrParams, "takes %d to %d inputs, has %d", lo, hi, len(c.in))
		}
		return
	}
	for i := 0; i < lo; i++ {
		if !c.present(i) {
			c.fail(ErrParams, "input %d is required", i)
		}
	}
}

// dtype checks the element type of input i.
func (c *prepCtx) dtype(i int, allowed ...DType) {
	if c.err != nil || !c.present(i) {
		return
	}
	if !slices.Contains(allowed, c.in[i].DType) {
		c.fail(ErrUnsupported, "input %d is %v (supported: %v)", i, c.in[i].DType, allowed)
	}
}

// sameType checks that inputs i and j have the same element type.
func (c *prepCtx) sameType(i, j int) {
	if c.err == nil && c.present(i) && c.present(j) && c.in[i].DType != c.in[j].DType {
		c.fail(ErrParams, "inputs %d (%v) and %d (%v) must have the same element type", i, c.in[i].DType, j, c.in[j].DType)
	}
}

// constInts returns the value of constant integer input i; the op needs
// it to know its output shape.
func (c *prepCtx) constInts(i int) []int64 {
	if c.err != nil {
		return nil
	}
	if !c.present(i) {
		c.fail(ErrParams, "input %d is required", i)
		return nil
	}
	t := c.consts[i]
	if t == nil {
		c.fail(ErrUnsupported, "input %d (%q) must be a constant (an initializer or computable from initializers and static shapes)", i, c.n.Inputs[i])
		return nil
	}
	v, err := t.Ints()
	if err != nil {
		c.fail(ErrParams, "input %d: %v", i, err)
	}
	return v
}

// constFloats returns the value of constant float input i.
func (c *prepCtx) constFloats(i int) []float32 {
	if c.err != nil {
		return nil
	}
	t := c.consts[i]
	if t == nil {
		c.fail(ErrUnsupported, "input %d (%q) must be a constant", i, c.n.Inputs[i])
		return nil
	}
	if t.DType != Float32 {
		c.fail(ErrParams, "input %d is %v, want float32", i, t.DType)
		return nil
	}
	return t.F32
}

// axis normalises an axis attribute or input value in [-rank, rank).
func (c *prepCtx) axis(what string, a int64, rank int) int {
	if a < -int64(rank) || a >= int64(rank) {
		c.fail(ErrParams, "%s %d out of range for rank %d", what, a, rank)
		return 0
	}
	if a < 0 {
		a += int64(rank)
	}
	return int(a)
}

// checkShape validates a shape computed by inference against the limit.
func (c *prepCtx) checkShape(what string, s []int) {
	if c.err != nil {
		return
	}
	if _, err := NumElements(s, c.limit); err != nil {
		c.fail(ErrShape, "%s: %v", what, err)
	}
}

// opDef prepares one op: it validates the node and returns its outputs'
// types and shapes and its kernel.
type opDef func(c *prepCtx) ([]ValueInfo, kernel)

var ops = map[string]opDef{}

func register(def opDef, names ...string) {
	for _, n := range names {
		if _, dup := ops[n]; dup {
			panic("graph: op registered twice: " + n)
		}
		ops[n] = def
	}
}

// SupportedOps returns the op types this package implements, sorted: the
// default ONNX domain's by name, others as "domain.name"
// ("com.microsoft.QLinearAdd").
func SupportedOps() []string {
	names := make([]string, 0, len(ops))
	for n := range ops {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// prepare looks up the node's op and runs its prepare function.
func prepare(c *prepCtx) ([]ValueInfo, kernel, error) {
	n := c.n
	key := n.OpType
	if !isDefaultDomain(n.Domain) {
		key = n.Domain + "." + n.OpType
	}
	def, ok := ops[key]
	if !ok {
		op := n.OpType
		if !isDefaultDomain(n.Domain) {
			op = n.Domain + "." + op
		}
		return nil, nil, errorf(ErrUnsupported, "op %s (supported: %s)", op, strings.Join(SupportedOps(), ", "))
	}
	out, run := def(c)
	if c.err != nil {
		return nil, nil, c.err
	}
	var unused []string
	for name := range n.Attrs {
		if !c.used[name] {
			unused = append(unused, name)
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		return nil, nil, errorf(ErrUnsupported, "attribute(s) %s of %s", strings.Join(unused, ", "), n.OpType)
	}
	for j, o := range n.Outputs {
		if o != "" && (j >= len(out) || out[j].DType == Invalid) {
			return nil, nil, errorf(ErrUnsupported, "output %d (%q) of %s is not supported", j, o, n.OpType)
		}
	}
	return out, run, nil
}

// info is a shorthand.
func info(d DType, shape []int) ValueInfo { return ValueInfo{DType: d, Shape: shape} }

// one wraps a single-output kernel.
func one(f func(ec *execCtx, in []*Tensor) (*Tensor, error)) kernel {
	return func(ec *execCtx, in []*Tensor) ([]*Tensor, error) {
		t, err := f(ec, in)
		if err != nil {
			return nil, err
		}
		return []*Tensor{t}, nil
	}
}

// numel is the element count of a validated shape.
func numel(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// stridesOf returns row-major strides.
func stridesOf(s []int) []int {
	st := make([]int, len(s))
	k := 1
	for i := len(s) - 1; i >= 0; i-- {
		st[i] = k
		k *= s[i]
	}
	return st
}

// kindError is an error that wraps one of the sentinels (errors.Is
// finds it) with a message of its own: the sentinels' texts are the
// engine's ("invalid quantization parameters" for ErrParams), which would
// mislead here.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// errorf returns an error wrapping kind, its message prefixed by "invalid"
// (ErrParams), "invalid shape" (ErrShape) or "unsupported"
// (ErrUnsupported).
func errorf(kind error, format string, a ...any) error {
	prefix := kind.Error()
	switch kind {
	case ErrParams:
		prefix = "invalid"
	case ErrShape:
		prefix = "invalid shape"
	case ErrUnsupported:
		prefix = "unsupported"
	}
	return &kindError{kind: kind, msg: prefix + ": " + fmt.Sprintf(format, a...)}
}

// opt returns input i, or nil when it is absent (trailing optional inputs
// may be left out of the slice altogether).
func opt(in []*Tensor, i int) *Tensor {
	if i < len(in) {
		return in[i]
	}
	return nil
}
