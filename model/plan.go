package model

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/qtensor"
)

// Where says where a node of the graph runs.
type Where uint8

// Placements.
const (
	// OnEngine: the node is lowered to engine ops (NodePlan.Ops); nodes it
	// absorbed (its input DequantizeLinears, an activation, its output
	// QuantizeLinear) are Fused into it.
	OnEngine Where = iota
	// Fused: the node has no work of its own - it is part of the engine op
	// of NodePlan.Into, or a DequantizeLinear whose consumers all read the
	// quantized data directly, or weights quantized and packed at load.
	Fused
	// OnHost: the node runs in float32 (or on integers) on the host, with
	// package graph's reference kernel; NodePlan.Reason says why.
	OnHost
	// AtLoad: the node depends only on constants and was evaluated once
	// when the model was loaded.
	AtLoad
)

func (w Where) String() string {
	switch w {
	case OnEngine:
		return "engine"
	case Fused:
		return "fused"
	case OnHost:
		return "host"
	case AtLoad:
		return "load"
	}
	return fmt.Sprintf("Where(%d)", uint8(w))
}

// NodePlan is where one node of the graph runs.
type NodePlan struct {
	// Node names the node (its name, or its op type and first output).
	Node   string
	OpType string
	Where  Where
	// Ops are the engine ops of an OnEngine node, with their types, e.g.
	// "Conv(uint8,int8->uint8,ReLU)".
	Ops []string
	// Into names the node whose engine op absorbed a Fused node ("" when
	// the node is simply not needed).
	Into string
	// Reason explains an OnHost node (why it was not lowered) or a Fused
	// one (how it was absorbed).
	Reason string
}

// Plan is a model's lowering: one NodePlan per node of the built graph,
// in execution order.
type Plan struct {
	Nodes []NodePlan
	// Submissions is the number of engine submissions (batches) an
	// inference makes: consecutive engine ops form one; a host node that
	// needs an engine result ends one. A fully lowered model makes one.
	Submissions int
}

func (p Plan) clone() Plan {
	q := Plan{Submissions: p.Submissions, Nodes: slices.Clone(p.Nodes)}
	for i := range q.Nodes {
		q.Nodes[i].Ops = slices.Clone(q.Nodes[i].Ops)
	}
	return q
}

// Counts returns the number of nodes per placement.
func (p Plan) Counts() map[Where]int {
	c := map[Where]int{}
	for _, n := range p.Nodes {
		c[n.Where]++
	}
	return c
}

// EngineOps returns the number of engine ops per inference by kind (the
// op name before its parenthesis).
func (p Plan) EngineOps() map[string]int {
	c := map[string]int{}
	for _, n := range p.Nodes {
		for _, op := range n.Ops {
			k, _, _ := strings.Cut(op, "(")
			c[k]++
		}
	}
	return c
}

// String formats the plan as a table, one node a line.
func (p Plan) String() string {
	var b strings.Builder
	for _, n := range p.Nodes {
		fmt.Fprintf(&b, "%-7s %-18s %s", n.Where, n.OpType, n.Node)
		switch {
		case len(n.Ops) > 0:
			fmt.Fprintf(&b, ": %s", strings.Join(n.Ops, " + "))
		case n.Into != "":
			fmt.Fprintf(&b, ": into %s", n.Into)
		}
		if n.Reason != "" {
			fmt.Fprintf(&b, " (%s)", n.Reason)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// qparams are per-tensor quantization parameters of an activation.
type qparams struct {
	dt    qtensor.DType // Int8 or Uint8
	scale float32
	zp    int32
}

func (q qparams) String() string { return fmt.Sprintf("%v(s=%g,zp=%d)", q.dt, q.scale, q.zp) }

func (q qparams) params() qtensor.Params { return qtensor.TensorParams(q.scale, q.zp) }

// step is one unit of an inference: engine ops recorded into the current
// batch, or one graph node evaluated on the host.
type step struct {
	host bool
	node int      // host: the graph node; engine: the anchor node
	ops  []string // engine op descriptions
	ins  []string // values read (device values for engine steps; node inputs for host steps)
	outs []string // values written
	// record records the step's engine ops on device tensors in (one per
	// ins) and returns one tensor per outs. keep registers intermediate
	// tensors that must live until the batch ran. Values the plan keeps
	// channels-last (plan.nhwc) are NHWC tensors in and out.
	record func(b *engine.Batch, in []*engine.Tensor, keep func(*engine.Tensor)) ([]*engine.Tensor, error)
	// lay is how the step's ops take layouts (see chooseLayouts).
	lay stepLayout
}

// stepLayout is how an engine step takes channels-last values.
type stepLayout uint8

const (
	// layNCHW: every value the step reads or writes is in the graph's
	// layout.
	layNCHW stepLayout = iota
	// layWindow: a Conv or pool of ins[0]: its input and its output may
	// each be NCHW or NHWC.
	layWindow
	// layElem: an elementwise op: its inputs and its output share one
	// layout, whichever it is.
	layElem
)

// group is a set of nodes lowered together to engine steps, anchored at
// the node that carries the computation.
type group struct {
	anchor int
	covers map[int]string // covered node -> how (for the plan); the anchor included
	reads  []string       // float values read through their quantized twins
	steps  []*step
	outQ   map[string]qparams // quantized values the steps produce
	outDev []string           // values the steps produce on the device
}

// twin is the quantized form of a float value f: f = DequantizeLinear(q)
// exactly, with per-tensor parameters.
type twin struct {
	name string // the quantized value (a graph value, or f+"#q" for a view)
	p    qparams
	view int    // the shape node whose view makes name (-1: none)
	in   string // view: the float input of the shape node
}

// plan is the internal lowering of a graph onto an engine.
type plan struct {
	g   *graph.Graph
	eng *engine.Engine

	prod  map[string]int   // value -> producing node
	cons  map[string][]int // value -> consuming nodes (once per node)
	isOut map[string]bool
	isIn  map[string]bool

	forced map[int]string // anchor nodes kept on the host after a failed trial

	consts   map[string]*graph.Tensor // constants evaluated at load (beyond initializers)
	constErr map[string]error
	qv       map[string]qparams // params of device-quantized values
	twins    map[string]*twin
	twinErr  map[string]string

	groups   []*group
	groupOf  map[int]*group
	used     map[string]map[int]bool // float value -> consumers reading it through its twin
	viewUsed map[int]bool            // shape nodes whose view step is needed
	reasons  map[int]string          // why a node stays on the host

	weights map[string]*qtensor.Tensor // device constants to upload, by key
	wdev    map[string]*engine.Tensor

	steps    []*step
	nodePlan []NodePlan
	subs     int

	// nchwOnly keeps every value in the graph's layout (Options.NCHW);
	// otherwise nhwc holds the 4-D device values stored channels-last.
	nchwOnly bool
	nhwc     map[string]bool
}

// shapeOps keep the data and change only the shape: on per-tensor
// quantized data they are engine views.
var shapeOps = map[string]bool{"Flatten": true, "Reshape": true, "Squeeze": true, "Unsqueeze": true, "Identity": true}

func isDefault(d string) bool { return d == "" || d == "ai.onnx" }

func (p *plan) node(i int) *graph.Node { return p.g.Nodes[i] }

func (p *plan) op(i int) string {
	n := p.g.Nodes[i]
	if isDefault(n.Domain) {
		return n.OpType
	}
	return n.Domain + "." + n.OpType
}

func nodeName(n *graph.Node) string {
	if n.Name != "" {
		return n.Name
	}
	return n.OpType + "->" + strings.Join(n.Outputs, ",")
}

// newPlan lowers g onto e: it plans, uploads the weights, and records
// every engine step once on empty tensors (the trial) so that what the
// engine or its backend refuses runs on the host instead.
func newPlan(g *graph.Graph, e *engine.Engine, nchwOnly bool) (*plan, error) {
	forced := map[int]string{}
	for {
		p := &plan{g: g, eng: e, forced: forced, nchwOnly: nchwOnly}
		if err := p.build(); err != nil {
			p.release()
			return nil, err
		}
		bad, why, err := p.trial()
		if err != nil {
			p.release()
			return nil, err
		}
		if bad < 0 {
			return p, nil
		}
		p.release()
		if _, again := forced[bad]; again {
			return nil, fmt.Errorf("planning: node %s failed its trial twice: %s", nodeName(g.Nodes[bad]), why)
		}
		forced[bad] = why
	}
}

func (p *plan) build() error {
	p.analyze()
	p.decide()
	runsHost := p.needs()
	if err := p.emit(runsHost); err != nil {
		return err
	}
	return p.upload()
}

func (p *plan) analyze() {
	g := p.g
	p.prod, p.cons = map[string]int{}, map[string][]int{}
	p.isOut, p.isIn = map[string]bool{}, map[string]bool{}
	for _, o := range g.Outputs {
		p.isOut[o.Name] = true
	}
	for _, in := range g.Inputs {
		p.isIn[in.Name] = true
	}
	for i, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != "" {
				p.prod[o] = i
			}
		}
		for _, in := range n.Inputs {
			if in != "" && !slices.Contains(p.cons[in], i) {
				p.cons[in] = append(p.cons[in], i)
			}
		}
	}
	p.consts, p.constErr = map[string]*graph.Tensor{}, map[string]error{}
	p.qv = map[string]qparams{}
	p.twins, p.twinErr = map[string]*twin{}, map[string]string{}
	p.groupOf, p.used, p.viewUsed = map[int]*group{}, map[string]map[int]bool{}, map[int]bool{}
	p.reasons = map[int]string{}
	p.weights, p.wdev = map[string]*qtensor.Tensor{}, map[string]*engine.Tensor{}
}

// constant returns the value of v if it is a constant: an initializer, or
// the output of a node whose inputs are all constants - a
// QuantizeLinear/DequantizeLinear of constants (package graph keeps those
// nodes so that the QDQ structure stays visible) and what follows it -
// evaluated once here.
func (p *plan) constant(v string) *graph.Tensor {
	if v == "" {
		return nil
	}
	if t := p.g.Initializers[v]; t != nil {
		return t
	}
	if t, ok := p.consts[v]; ok {
		return t
	}
	if _, failed := p.constErr[v]; failed {
		return nil
	}
	i, ok := p.prod[v]
	if !ok {
		return nil
	}
	n := p.node(i)
	args := make([]*graph.Tensor, len(n.Inputs))
	for j, in := range n.Inputs {
		if in == "" {
			continue
		}
		if args[j] = p.constant(in); args[j] == nil {
			p.constErr[v] = errors.New("not constant")
			return nil
		}
	}
	res, err := p.g.EvalNode(i, args, 1)
	if err != nil {
		p.constErr[v] = err
		return nil
	}
	for j, o := range n.Outputs {
		if o != "" {
			p.consts[o] = res[j]
		}
	}
	return p.consts[v]
}

// isConstNode reports whether every input of node i is constant.
func (p *plan) isConstNode(i int) bool {
	for _, in := range p.node(i).Inputs {
		if in != "" && p.constant(in) == nil {
			return false
		}
	}
	return true
}

// scalarParams reads the constant scale and zero point inputs (1 and 2)
// of a QuantizeLinear/DequantizeLinear node as per-tensor parameters of
// type dt.
func (p *plan) scalarParams(i int, dt graph.DType) (qparams, string) {
	n := p.node(i)
	s := p.constant(n.Inputs[1])
	if s == nil {
		return qparams{}, "its scale is not a constant"
	}
	if s.Len() != 1 || len(s.Shape) > 1 {
		return qparams{}, fmt.Sprintf("its scale has shape %v (per-axis)", s.Shape)
	}
	q := qparams{scale: s.F32[0]}
	switch dt {
	case graph.Int8:
		q.dt = qtensor.Int8
	case graph.Uint8:
		q.dt = qtensor.Uint8
	default:
		return qparams{}, fmt.Sprintf("its quantized type is %v", dt)
	}
	if len(n.Inputs) > 2 && n.Inputs[2] != "" {
		z := p.constant(n.Inputs[2])
		if z == nil {
			return qparams{}, "its zero point is not a constant"
		}
		v, err := z.Ints()
		if err != nil || len(v) != 1 {
			return qparams{}, "its zero point is not one integer"
		}
		q.zp = int32(v[0])
	}
	if err := q.params().Validate(q.dt, []int{1}); err != nil {
		return qparams{}, err.Error()
	}
	return q, ""
}

// qOut returns the output parameters of QuantizeLinear node i.
func (p *plan) qOut(i int) (qparams, string) {
	n := p.node(i)
	if !isDefault(n.Domain) || n.OpType != "QuantizeLinear" {
		return qparams{}, "not a QuantizeLinear"
	}
	return p.scalarParams(i, p.g.Values[n.Outputs[0]].DType)
}

// producerParams returns the parameters a quantized value has by
// construction: those of the QuantizeLinear (or QOperator node) that
// makes it.
func (p *plan) producerParams(v string) (qparams, bool) {
	if q, ok := p.qv[v]; ok {
		return q, true
	}
	i, ok := p.prod[v]
	if !ok {
		return qparams{}, false
	}
	n := p.node(i)
	if isDefault(n.Domain) && n.OpType == "QuantizeLinear" {
		q, why := p.qOut(i)
		return q, why == ""
	}
	if q, ok := p.qopOutParams(i); ok && n.Outputs[0] == v {
		return q, true
	}
	return qparams{}, false
}

// twinOf returns the quantized twin of float value f, or why f has none.
// It records nothing but parameters of graph inputs and constants that the
// first DequantizeLinear reading them defines.
func (p *plan) twinOf(f string) (*twin, string) {
	if t, ok := p.twins[f]; ok {
		return t, ""
	}
	if why, ok := p.twinErr[f]; ok {
		return nil, why
	}
	t, why := p.findTwin(f)
	if t == nil {
		p.twinErr[f] = why
	} else {
		p.twins[f] = t
	}
	return t, why
}

func (p *plan) findTwin(f string) (*twin, string) {
	i, ok := p.prod[f]
	if !ok {
		return nil, fmt.Sprintf("%s is not the output of a DequantizeLinear", f)
	}
	n := p.node(i)
	if !isDefault(n.Domain) {
		return nil, fmt.Sprintf("%s is not the output of a DequantizeLinear", f)
	}
	switch {
	case n.OpType == "DequantizeLinear":
		q := n.Inputs[0]
		qp, why := p.scalarParams(i, p.g.Values[q].DType)
		if why != "" {
			return nil, fmt.Sprintf("the DequantizeLinear of %s: %s", f, why)
		}
		if have, ok := p.producerParams(q); ok {
			if have != qp {
				return nil, fmt.Sprintf("the DequantizeLinear of %s reads %s with %v, which was quantized with %v", f, q, qp, have)
			}
		} else {
			p.qv[q] = qp
		}
		if t := p.constant(q); t != nil && p.weights[q] == nil {
			// A constant read as an activation: uploaded at load.
			h, err := hostToQ(t, qp.params())
			if err != nil {
				return nil, fmt.Sprintf("constant %s: %v", q, err)
			}
			p.weights[q] = h
		}
		return &twin{name: q, p: qp, view: -1}, ""
	case shapeOps[n.OpType]:
		inner, why := p.twinOf(n.Inputs[0])
		if inner == nil {
			return nil, why
		}
		name := f + "#q"
		p.qv[name] = inner.p
		return &twin{name: name, p: inner.p, view: i, in: n.Inputs[0]}, ""
	}
	return nil, fmt.Sprintf("%s is the output of %s, not of a DequantizeLinear", f, n.OpType)
}

// use records that node c reads float value f through its twin.
func (p *plan) use(f string, c int) {
	if p.used[f] == nil {
		p.used[f] = map[int]bool{}
	}
	p.used[f][c] = true
	t := p.twins[f]
	if t != nil && t.view >= 0 && !p.viewUsed[t.view] {
		p.viewUsed[t.view] = true
		p.use(t.in, t.view)
	}
}

// decide is the first pass: in execution order, each node that is not yet
// part of a group tries its lowering.
func (p *plan) decide() {
	for i := range p.g.Nodes {
		if p.groupOf[i] != nil {
			continue
		}
		n := p.node(i)
		if why, ok := p.forced[i]; ok {
			p.reasons[i] = why
			continue
		}
		if isDefault(n.Domain) && (n.OpType == "DequantizeLinear" || shapeOps[n.OpType] && p.g.Values[n.Inputs[0]].DType == graph.Float32) {
			continue // made on demand: see twinOf and needs
		}
		if p.isConstNode(i) {
			continue
		}
		low := lowerers[p.op(i)]
		if _, unary := p.g.UnaryFunc(i); low == nil && unary && isDefault(n.Domain) {
			low = lowerUnary
		}
		if low == nil {
			p.reasons[i] = "no quantized lowering for " + p.op(i)
			continue
		}
		gr, why := low(p, i)
		if gr == nil {
			if n.OpType != "QuantizeLinear" || p.twins[n.Inputs[0]] != nil {
				p.reasons[i] = why
			}
			continue
		}
		p.commit(gr)
	}
}

func (p *plan) commit(gr *group) {
	p.groups = append(p.groups, gr)
	for c := range gr.covers {
		p.groupOf[c] = gr
	}
	for _, f := range gr.reads {
		p.use(f, gr.anchor)
	}
	for v, q := range gr.outQ {
		p.qv[v] = q
	}
}

// needs is the second pass, in reverse order: which nodes outside groups
// run on the host. A DequantizeLinear (or a view of one) runs only if a
// host node or a graph output needs its float value.
func (p *plan) needs() map[int]bool {
	need := map[string]bool{}
	for o := range p.isOut {
		need[o] = true
	}
	runs := map[int]bool{}
	for i := len(p.g.Nodes) - 1; i >= 0; i-- {
		if gr := p.groupOf[i]; gr != nil {
			// Float values an engine step reads as they are (MatMulNBits'
			// activations) must be computed, or uploaded from the host.
			for _, s := range gr.steps {
				for _, v := range s.ins {
					if info, ok := p.g.Values[v]; ok && info.DType == graph.Float32 && gr.anchor == i {
						need[v] = true
					}
				}
			}
			continue
		}
		n := p.node(i)
		// A DequantizeLinear (or a shape node over one) runs if a host
		// node or a graph output needs its float value: groups read it
		// through its quantized twin.
		if isDefault(n.Domain) && (n.OpType == "DequantizeLinear" || shapeOps[n.OpType] && p.g.Values[n.Inputs[0]].DType == graph.Float32) {
			for _, o := range n.Outputs {
				if need[o] {
					runs[i] = true
				}
			}
		} else {
			runs[i] = true
		}
		if runs[i] {
			for _, in := range n.Inputs {
				if in != "" {
					need[in] = true
				}
			}
		}
	}
	return runs
}

// emit is the last pass: the steps, in execution order.
func (p *plan) emit(runs map[int]bool) error {
	onDev := map[string]bool{}
	opsOf := map[int][]*step{} // the steps of each node on the engine
	p.nodePlan = make([]NodePlan, len(p.g.Nodes))
	for i, n := range p.g.Nodes {
		np := &p.nodePlan[i]
		np.Node, np.OpType = nodeName(n), p.op(i)
		if gr := p.groupOf[i]; gr != nil {
			if gr.anchor == i {
				np.Where = OnEngine
				for _, s := range gr.steps {
					p.steps = append(p.steps, s)
					opsOf[i] = append(opsOf[i], s)
				}
				for _, v := range gr.outDev {
					onDev[v] = true
				}
				np.Reason = gr.covers[i]
			} else {
				np.Where, np.Into, np.Reason = Fused, nodeName(p.node(gr.anchor)), gr.covers[i]
			}
			continue
		}
		viewed := p.viewUsed[i]
		if viewed {
			t := p.twins[n.Outputs[0]]
			in := p.twins[t.in]
			s := p.viewStep(i, in.name, t.name, p.g.Values[n.Outputs[0]].Shape)
			p.steps = append(p.steps, s)
			onDev[t.name] = true
			np.Where = OnEngine
			opsOf[i] = append(opsOf[i], s)
		}
		if !runs[i] {
			if !viewed {
				np.Where = Fused
				switch {
				case n.OpType == "DequantizeLinear" && p.constant(n.Inputs[0]) != nil:
					np.Reason = "constant: read quantized at load"
				case n.OpType == "DequantizeLinear":
					np.Reason = "its consumers read the quantized data"
				default:
					np.Reason = "not needed"
				}
				for _, o := range n.Outputs {
					for c := range p.used[o] {
						if gr := p.groupOf[c]; gr != nil && np.Into == "" {
							np.Into = nodeName(p.node(gr.anchor))
						}
					}
				}
			}
			continue
		}
		if p.isConstNode(i) {
			// Constant Q/DQ chains (fake-quantized weights read by host
			// nodes): evaluated once.
			for _, o := range n.Outputs {
				if o != "" && p.constant(o) == nil {
					return fmt.Errorf("%s: evaluating constant: %v", nodeName(n), p.constErr[o])
				}
			}
			np.Where, np.Reason = AtLoad, "constant"
			continue
		}
		// Quantize and Dequantize at the boundary run on the engine.
		if isDefault(n.Domain) && n.OpType == "QuantizeLinear" && (p.isIn[n.Inputs[0]] || onDev[n.Inputs[0]]) {
			s, why := p.quantizeStep(i)
			if s != nil {
				p.steps = append(p.steps, s)
				onDev[n.Outputs[0]] = true
				np.Where = OnEngine
				opsOf[i] = append(opsOf[i], s)
				continue
			}
			p.reasons[i] = why
		}
		if isDefault(n.Domain) && n.OpType == "DequantizeLinear" && p.isOut[n.Outputs[0]] && onDev[n.Inputs[0]] && p.dqMatches(i) {
			s := dequantizeStep(i, n.Inputs[0], n.Outputs[0])
			p.steps = append(p.steps, s)
			onDev[n.Outputs[0]] = true
			np.Where = OnEngine
			opsOf[i] = append(opsOf[i], s)
			continue
		}
		s := &step{host: true, node: i, outs: slices.DeleteFunc(slices.Clone(n.Outputs), func(s string) bool { return s == "" })}
		for _, in := range n.Inputs {
			if in != "" && p.constant(in) == nil {
				s.ins = append(s.ins, in)
			}
		}
		p.steps = append(p.steps, s)
		np.Where = OnHost
		np.Reason = p.hostReason(i)
	}
	p.subs = submissions(p.steps)
	p.chooseLayouts()
	for i, steps := range opsOf {
		for _, s := range steps {
			p.nodePlan[i].Ops = append(p.nodePlan[i].Ops, p.describe(s)...)
		}
	}
	return nil
}

// dqMatches reports whether DequantizeLinear node i reads its input with
// the params the input has on the device (so the engine's Dequantize, which
// uses the tensor's own, computes it).
func (p *plan) dqMatches(i int) bool {
	n := p.node(i)
	q, why := p.scalarParams(i, p.g.Values[n.Inputs[0]].DType)
	if why != "" {
		return false
	}
	have, ok := p.qv[n.Inputs[0]]
	return ok && have == q
}

// hostReason says why node i runs on the host.
func (p *plan) hostReason(i int) string {
	if why := p.reasons[i]; why != "" {
		return why
	}
	n := p.node(i)
	switch {
	case n.OpType == "DequantizeLinear":
		return "a host node or graph output needs the float value"
	case n.OpType == "QuantizeLinear":
		return "its input is computed on the host"
	case shapeOps[n.OpType]:
		return "a host node or graph output needs the float value"
	}
	return "no quantized lowering for " + p.op(i)
}

// submissions counts the batches an inference makes with the run's flush
// rule: a host step that reads a value made in the open batch ends it.
func submissions(steps []*step) int {
	n := 0
	open := false
	pending := map[string]bool{}
	for _, s := range steps {
		if s.host {
			for _, in := range s.ins {
				if pending[in] {
					open = false
					clear(pending)
					break
				}
			}
			continue
		}
		if !open {
			open = true
			n++
		}
		for _, o := range s.outs {
			pending[o] = true
		}
	}
	return n
}

func (p *plan) report() Plan {
	return Plan{Nodes: slices.Clone(p.nodePlan), Submissions: p.subs}
}

// upload puts the weights on the device.
func (p *plan) upload() error {
	keys := make([]string, 0, len(p.weights))
	for k := range p.weights {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t, err := p.eng.Upload(p.weights[k])
		if err != nil {
			return fmt.Errorf("uploading weights %s: %w", k, err)
		}
		p.wdev[k] = t
	}
	return nil
}

// release frees the device weights. Safe twice.
func (p *plan) release() {
	for k, t := range p.wdev {
		t.Release()
		delete(p.wdev, k)
	}
}

// trial records every engine step once, on empty tensors, and returns the
// anchor node of the first step the engine or its backend refuses (-1:
// none) with the reason.
func (p *plan) trial() (int, string, error) {
	dev := map[string]*engine.Tensor{}
	var made []*engine.Tensor
	defer func() {
		for _, t := range made {
			t.Release()
		}
	}()
	get := func(v string) (*engine.Tensor, error) {
		if t := dev[v]; t != nil {
			return t, nil
		}
		if t := p.wdev[v]; t != nil {
			return t, nil
		}
		info := p.g.Values[v]
		d, prm, err := p.deviceType(v, info.DType)
		if err != nil {
			return nil, err
		}
		t, err := p.eng.Empty(d, info.Shape, prm)
		if err != nil {
			return nil, err
		}
		made = append(made, t)
		dev[v] = t
		return t, nil
	}
	for _, s := range p.steps {
		if s.host {
			continue
		}
		ins := make([]*engine.Tensor, len(s.ins))
		for j, v := range s.ins {
			t, err := get(v)
			if err != nil {
				return s.node, fmt.Sprintf("input %s: %v", v, err), nil
			}
			ins[j] = t
		}
		b := p.eng.NewBatch()
		outs, err := s.record(b, ins, func(t *engine.Tensor) { made = append(made, t) })
		if err == nil {
			err = p.eng.Supports(b)
		}
		if err != nil {
			b.Release()
			if errors.Is(err, engine.ErrClosed) || errors.Is(err, engine.ErrDeviceLost) || errors.Is(err, engine.ErrOutOfMemory) {
				return -1, "", err
			}
			return s.node, "the engine refused it: " + err.Error(), nil
		}
		for j, v := range s.outs {
			made = append(made, outs[j])
			dev[v] = outs[j]
			if want, ok := p.g.Values[strings.TrimSuffix(v, "#q")]; ok && !slices.Equal(outs[j].Shape(), p.devShape(v, want.Shape)) {
				return s.node, fmt.Sprintf("the engine op makes %v, the graph says %v (on the device %v)", outs[j].Shape(), want.Shape, p.devShape(v, want.Shape)), nil
			}
		}
	}
	return -1, "", nil
}

// deviceType returns the engine type and params of value v on the device.
func (p *plan) deviceType(v string, d graph.DType) (qtensor.DType, qtensor.Params, error) {
	switch d {
	case graph.Float32:
		return qtensor.Float32, qtensor.Params{}, nil
	case graph.Int32:
		return qtensor.Int32, qtensor.Params{}, nil
	case graph.Int8, graph.Uint8:
		dt := qtensor.Int8
		if d == graph.Uint8 {
			dt = qtensor.Uint8
		}
		if q, ok := p.qv[v]; ok {
			return dt, q.params(), nil
		}
		if q, ok := p.producerParams(v); ok {
			return dt, q.params(), nil
		}
		// Data whose scale nobody states (MatMulInteger operands): the
		// ops that read it take their zero points explicitly.
		return dt, qtensor.TensorParams(1, 0), nil
	}
	return 0, qtensor.Params{}, fmt.Errorf("%w: %v values do not go to the engine", ErrUnsupported, d)
}

// hostToQ converts a host int8/uint8/int32/float32 tensor to a qtensor
// with params prm (quantized types only).
func hostToQ(t *graph.Tensor, prm qtensor.Params) (*qtensor.Tensor, error) {
	var q *qtensor.Tensor
	var err error
	switch t.DType {
	case graph.Float32:
		q, err = qtensor.FromFloat32(t.Shape, t.F32)
	case graph.Int32:
		q, err = qtensor.FromInt32(t.Shape, t.I32)
	case graph.Int8:
		q, err = qtensor.New(qtensor.Int8, t.Shape, prm)
		if err == nil {
			for i, v := range t.I8 {
				q.Data[i] = byte(v)
			}
		}
	case graph.Uint8:
		q, err = qtensor.New(qtensor.Uint8, t.Shape, prm)
		if err == nil {
			copy(q.Data, t.U8)
		}
	default:
		err = fmt.Errorf("%w: %v tensors do not go to the engine", ErrUnsupported, t.DType)
	}
	return q, err
}
