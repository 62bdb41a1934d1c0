package calib

import "math"

// klEps is the smoothing constant of ONNX Runtime's smooth_distribution.
const klEps = 1e-4

// klCandidates calls f with every KL slice [a, b) (integer positions, may
// reach outside the occupied bins) of at least d bins.
func (v *hview) klCandidates(d int, sym bool, f func(a, b int)) {
	lo, hi := v.symCandidates()
	n := len(v.c)
	z := int(v.z)
	pa, pb := math.MinInt, math.MinInt
	for t := lo; t <= hi; t++ {
		a, b := z-t, z+t
		if !sym {
			a, b = max(a, 0), min(b, n)
			a, b = min(a, z), max(b, z) // the range always includes zero
		}
		if b-a < d || (a == pa && b == pb) {
			continue
		}
		pa, pb = a, b
		f(a, b)
	}
}

// kl is MethodKL: the slice with the smallest KL divergence.
func (v *hview) kl(d int, sym bool) (float64, float64) {
	k := newKLPrefix(v)
	best, ba, bb := math.Inf(1), 0, len(v.c)
	v.klCandidates(d, sym, func(a, b int) {
		if e := k.div(a, b, d); e < best {
			best, ba, bb = e, a, b
		}
	})
	return float64(ba), float64(bb)
}

// klPrefix holds prefix sums over the occupied bins for the O(d) KL.
type klPrefix struct {
	v                      *hview
	nz, sc, clc, lc, r, r2 []float64 // over bins < i: count of c>0, c, c·log c, log c, 1/c, 1/c²
}

func newKLPrefix(v *hview) *klPrefix {
	n := len(v.c)
	k := &klPrefix{v: v}
	for _, p := range []*[]float64{&k.nz, &k.sc, &k.clc, &k.lc, &k.r, &k.r2} {
		*p = make([]float64, n+1)
	}
	for i, c := range v.c {
		k.nz[i+1], k.sc[i+1], k.clc[i+1], k.lc[i+1], k.r[i+1], k.r2[i+1] = k.nz[i], k.sc[i]+c, k.clc[i], k.lc[i], k.r[i], k.r2[i]
		if c > 0 {
			k.nz[i+1]++
			k.clc[i+1] += c * math.Log(c)
			k.lc[i+1] += math.Log(c)
			k.r[i+1] += 1 / c
			k.r2[i+1] += 1 / (c * c)
		}
	}
	return k
}

// sum returns p[b]-p[a] with positions clamped to the occupied bins.
func (k *klPrefix) sum(p []float64, a, b int) float64 {
	n := len(k.v.c)
	a, b = min(max(a, 0), n), min(max(b, 0), n)
	if b <= a {
		return 0
	}
	return p[b] - p[a]
}

func (k *klPrefix) count(i int) float64 {
	if i < 0 || i >= len(k.v.c) {
		return 0
	}
	return k.v.c[i]
}

func xlogx(x float64) float64 {
	if x <= 0 {
		return 0
	}
	return x * math.Log(x)
}

// div returns the smoothed KL divergence of the slice [a, b) (b-a >= d),
// +Inf when ORT's smoothing would fail.
func (k *klPrefix) div(a, b, d int) float64 {
	m := b - a
	total := k.v.total
	below := k.sum(k.sc, math.MinInt/2, a)
	above := k.sum(k.sc, b, math.MaxInt/2)
	ca, cb := k.count(a), k.count(b-1)
	pa, pb := ca+below, cb+above // edge bins of p (outliers folded)
	nz := func(x float64) float64 {
		if x > 0 {
			return 1
		}
		return 0
	}
	// non-zero bins of p
	nnzP := k.sum(k.nz, a, b) - nz(ca) - nz(cb) + nz(pa) + nz(pb)
	zerosP := float64(m) - nnzP
	if nnzP == 0 {
		return math.Inf(1)
	}
	e1 := klEps * zerosP / nnzP
	if e1 >= 1 {
		return math.Inf(1) // ORT asserts eps1 < 1
	}
	// sum of p' log p': interior non-zero bins by a Taylor expansion of
	// (c-e1)·log(c-e1) around c, edge bins directly, zero bins eps·log eps.
	sPlogP := zerosP * klEps * math.Log(klEps)
	if e1 > 1e-3 {
		// the expansion would lose accuracy: sum the interior directly
		for i := max(a+1, 0); i < min(b-1, len(k.v.c)); i++ {
			if c := k.v.c[i]; c > 0 {
				sPlogP += xlogx(c - e1)
			}
		}
	} else if a+1 < b-1 {
		nzIn := k.sum(k.nz, a+1, b-1)
		sPlogP += k.sum(k.clc, a+1, b-1) - e1*(k.sum(k.lc, a+1, b-1)+nzIn) +
			e1*e1/2*k.sum(k.r, a+1, b-1) + e1*e1*e1/6*k.sum(k.r2, a+1, b-1)
	}
	if pa > 0 {
		sPlogP += xlogx(pa - e1)
	}
	if pb > 0 {
		sPlogP += xlogx(pb - e1)
	}
	// groups
	nm := m / d
	var nnzQ, sq float64
	type grp struct{ qsum, nz, psum float64 }
	gs := make([]grp, d)
	for g := range d {
		s, e := a+g*nm, a+(g+1)*nm
		if g == d-1 {
			e = b
		}
		gr := grp{qsum: k.sum(k.sc, s, e), nz: k.sum(k.nz, s, e)}
		gr.psum = gr.qsum
		if s == a {
			gr.nz += nz(pa) - nz(ca)
			gr.psum += below
		}
		if e == b {
			gr.nz += nz(pb) - nz(cb)
			gr.psum += above
		}
		if gr.nz > 0 && gr.qsum > 0 {
			nnzQ += gr.nz
			sq += gr.qsum
		}
		gs[g] = gr
	}
	if nnzQ == 0 {
		return math.Inf(1)
	}
	e1q := klEps * (float64(m) - nnzQ) / nnzQ
	sPlogQ := zerosP * klEps * math.Log(klEps)
	for _, gr := range gs {
		if gr.nz == 0 {
			continue
		}
		pp := gr.psum - e1*gr.nz
		if gr.qsum > 0 {
			qv := gr.qsum/gr.nz - e1q
			if qv <= 0 {
				return math.Inf(1) // ORT asserts that smoothing keeps q positive
			}
			sPlogQ += pp * math.Log(qv)
		} else {
			sPlogQ += pp * math.Log(klEps)
		}
	}
	return (sPlogP-sPlogQ)/total + math.Log(sq/total)
}

// klReference is the direct O(m) transcription of ORT's
// get_entropy_threshold inner loop (float64, q not truncated) for one slice;
// the tests check div against it.
func (v *hview) klReference(a, b, d int) float64 {
	m := b - a
	cnt := func(i int) float64 {
		if i < 0 || i >= len(v.c) {
			return 0
		}
		return v.c[i]
	}
	sliced := make([]float64, m)
	for i := range sliced {
		sliced[i] = cnt(a + i)
	}
	p := append([]float64(nil), sliced...)
	for i := 0; i < len(v.c); i++ {
		if i < a {
			p[0] += v.c[i]
		} else if i >= b {
			p[m-1] += v.c[i]
		}
	}
	nm := m / d
	q := make([]float64, m)
	for g := range d {
		s, e := g*nm, (g+1)*nm
		if g == d-1 {
			e = m
		}
		var sum, norm float64
		for i := s; i < e; i++ {
			sum += sliced[i]
			if p[i] != 0 {
				norm++
			}
		}
		if norm != 0 {
			for i := s; i < e; i++ {
				if p[i] != 0 {
					q[i] = sum / norm
				}
			}
		}
	}
	smooth := func(h []float64, isP bool) bool {
		var zeros float64
		for _, x := range h {
			if x == 0 {
				zeros++
			}
		}
		nnz := float64(len(h)) - zeros
		if nnz == 0 {
			return false
		}
		e1 := klEps * zeros / nnz
		if isP && e1 >= 1 {
			return false // ORT asserts eps1 < 1
		}
		for i, x := range h {
			if x == 0 {
				h[i] = klEps
			} else {
				h[i] = x - e1
				if h[i] <= 0 {
					return false
				}
			}
		}
		return true
	}
	if !smooth(p, true) || !smooth(q, false) {
		return math.Inf(1)
	}
	var sp, sq float64
	for i := range p {
		sp += p[i]
		sq += q[i]
	}
	var kl float64
	for i := range p {
		P, Q := p[i]/sp, q[i]/sq
		kl += P * math.Log(P/Q)
	}
	return kl
}
