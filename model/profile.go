package model

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Profile is where an inference's time went, by kind of work.
type Profile struct {
	// Entries are aggregated by Kind and Where, largest Wall first.
	Entries []ProfileEntry
	// Wall is the time of the whole profiled inference.
	Wall float64
	// Nodes are the engine steps, host nodes and transfers one by one, in
	// execution order: where the time of each kind went.
	Nodes []ProfileNode
	index map[string]int
}

// ProfileNode is the time of one step of the inference: a node lowered to
// engine ops (with the nodes fused into it), a host node, or a transfer.
type ProfileNode struct {
	// Node names the graph node (see NodePlan.Node), or the value a
	// transfer moves.
	Node string
	// Ops are the step's engine ops as Plan describes them (layouts
	// included), or the host node's op type.
	Ops string
	// Kind is the step's ProfileEntry.Kind.
	Kind string
	// Where, Wall and Device are as in ProfileEntry.
	Where  string
	Wall   float64
	Device float64
}

// ProfileEntry is the time spent on one kind of work.
type ProfileEntry struct {
	// Kind is the engine op kinds of a step ("Conv", "Add+ReLU"), a host
	// node's op type, or "upload"/"download".
	Kind string
	// Where is "engine", "host" or "transfer".
	Where string
	// Count is the number of steps of this kind.
	Count int
	// Wall is their wall time in seconds; for engine steps, the time of a
	// submission of the step's ops alone (including the backend's
	// per-submission cost).
	Wall float64
	// Device is their device time in seconds on backends that measure it
	// (GPU timestamps; see engine.Batch.RunTimed), else 0.
	Device float64
}

func (p *Profile) add(kind, where string, wall, device float64) {
	if p.index == nil {
		p.index = map[string]int{}
	}
	key := where + "\x00" + kind
	i, ok := p.index[key]
	if !ok {
		i = len(p.Entries)
		p.index[key] = i
		p.Entries = append(p.Entries, ProfileEntry{Kind: kind, Where: where})
	}
	e := &p.Entries[i]
	e.Count++
	e.Wall += wall
	e.Device += device
}

func (p *Profile) sort() {
	sort.SliceStable(p.Entries, func(i, j int) bool { return p.Entries[i].Wall > p.Entries[j].Wall })
	p.index = nil
}

// String formats the profile as a table.
func (p *Profile) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-9s %-28s %5s %12s %12s\n", "where", "kind", "count", "wall ms", "device ms")
	for _, e := range p.Entries {
		fmt.Fprintf(&b, "%-9s %-28s %5d %12.3f %12.3f\n", e.Where, e.Kind, e.Count, e.Wall*1e3, e.Device*1e3)
	}
	fmt.Fprintf(&b, "total wall %.3f ms\n", p.Wall*1e3)
	return b.String()
}

// Profile runs one inference like Run, but submits each engine step on
// its own and times every step (device time too, on backends that
// measure it), to show where the time goes. Its total is larger than a
// Run's: a Run submits consecutive engine steps together. Like Run's, the
// profiled inference runs on activations allocated once (an executor the
// model keeps for Profile, whose first inference - packing the weights,
// touching every page - runs untimed before the first profile), so a
// step's time is its time in a Run. Profiles are serialized.
func (md *Model) Profile(ctx context.Context, inputs []NamedTensor) (*Profile, []NamedTensor, error) {
	ctx, ins, done, err := md.enter(ctx, inputs)
	if err != nil {
		return nil, nil, err
	}
	defer done()
	md.pmu.Lock()
	defer md.pmu.Unlock()
	if md.prof == nil {
		x, err := md.newExecutor(true)
		if err != nil {
			return nil, nil, err
		}
		if _, err := x.run(ctx, ins, nil); err != nil {
			x.release()
			return nil, nil, err
		}
		md.prof = x
	}
	prof := &Profile{}
	start := time.Now()
	out, err := md.prof.run(ctx, ins, prof)
	if err != nil {
		// As in Run: the executor may be half written or unusable.
		md.prof.release()
		md.prof = nil
		return nil, nil, err
	}
	prof.Wall = time.Since(start).Seconds()
	prof.sort()
	return prof, out, nil
}

// transfer books an upload or download of value v that began at start;
// nothing on a nil p.
func (p *Profile) transfer(kind, v string, start time.Time) {
	if p == nil {
		return
	}
	wall := time.Since(start).Seconds()
	p.add(kind, "transfer", wall, 0)
	p.Nodes = append(p.Nodes, ProfileNode{Node: v, Ops: kind, Kind: kind, Where: "transfer", Wall: wall})
}

// engineStep books step s of plan pl, submitted alone: wall time and the
// device times of its ops (Batch.RunTimed).
func (p *Profile) engineStep(pl *plan, s *step, wall float64, times []float64) {
	dev := 0.0
	for _, t := range times {
		dev += t
	}
	kinds := make([]string, len(s.ops))
	for i, op := range s.ops {
		kinds[i], _, _ = strings.Cut(op, "(")
	}
	kind := strings.Join(kinds, "+")
	p.add(kind, "engine", wall, dev)
	p.Nodes = append(p.Nodes, ProfileNode{Node: nodeName(pl.node(s.node)), Ops: strings.Join(pl.describe(s), " + "),
		Kind: kind, Where: "engine", Wall: wall, Device: dev})
}
