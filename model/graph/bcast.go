package graph

// bcast iterates over the elements of a broadcast of several operands to
// an output shape, row by row: the innermost (collapsed) dimension is a
// row, within which each operand advances by 0 or 1.
type bcast struct {
	dims    []int   // collapsed output dims; the last is the row
	strides [][]int // per operand, per collapsed dim (0: broadcast)
	n       int     // row length
	rows    int
}

// makeBcast collapses the broadcast of shapes to out. Each shape must be
// broadcastable to out (unidirectionally).
func makeBcast(out []int, shapes ...[]int) *bcast {
	st := make([][]int, len(shapes))
	for i, s := range shapes {
		st[i] = bstrides(s, out)
	}
	ost := stridesOf(out)
	bc := &bcast{strides: make([][]int, len(shapes))}
	var ostc []int
	for k, d := range out {
		if d == 1 {
			continue
		}
		m := len(bc.dims)
		if m > 0 && ostc[m-1] == ost[k]*d {
			ok := true
			for i := range st {
				if bc.strides[i][m-1] != st[i][k]*d {
					ok = false
					break
				}
			}
			if ok {
				bc.dims[m-1] *= d
				ostc[m-1] = ost[k]
				for i := range st {
					bc.strides[i][m-1] = st[i][k]
				}
				continue
			}
		}
		bc.dims = append(bc.dims, d)
		ostc = append(ostc, ost[k])
		for i := range st {
			bc.strides[i] = append(bc.strides[i], st[i][k])
		}
	}
	if len(bc.dims) == 0 {
		bc.dims = []int{1}
		for i := range st {
			bc.strides[i] = []int{0}
		}
	}
	r := len(bc.dims)
	bc.n = bc.dims[r-1]
	bc.rows = 1
	for _, d := range bc.dims[:r-1] {
		bc.rows *= d
	}
	if numel(out) == 0 {
		bc.rows = 0
	}
	return bc
}

// inner returns operand i's stride within a row (0 or 1 after collapse
// unless the operand is transposed, which broadcasting never produces).
func (bc *bcast) inner(i int) int { return bc.strides[i][len(bc.dims)-1] }

// offsets fills off with each operand's offset at the start of row r.
func (bc *bcast) offsets(r int, off []int) {
	for i := range off {
		off[i] = 0
	}
	for k := len(bc.dims) - 2; k >= 0; k-- {
		q := r % bc.dims[k]
		r /= bc.dims[k]
		for i := range off {
			off[i] += q * bc.strides[i][k]
		}
	}
}

// parRows runs f over all rows, in parallel when the work is large. f
// gets the row's output offset and the operands' offsets.
func (bc *bcast) parRows(ec *execCtx, f func(o int, off []int)) {
	total := bc.rows * bc.n
	run := func(lo, hi int) {
		off := make([]int, len(bc.strides))
		for r := lo; r < hi; r++ {
			bc.offsets(r, off)
			f(r*bc.n, off)
		}
	}
	if total < 1<<16 {
		run(0, bc.rows)
		return
	}
	ec.parallelFor(bc.rows, run)
}

// binRow applies f over a row with operand strides sa, sb (0 or 1).
func binRow[T, U any](out []U, a []T, sa int, b []T, sb int, f func(T, T) U) {
	switch {
	case sa == 1 && sb == 1:
		a, b = a[:len(out)], b[:len(out)]
		for i := range out {
			out[i] = f(a[i], b[i])
		}
	case sa == 1 && sb == 0:
		bv := b[0]
		a = a[:len(out)]
		for i := range out {
			out[i] = f(a[i], bv)
		}
	case sa == 0 && sb == 1:
		av := a[0]
		b = b[:len(out)]
		for i := range out {
			out[i] = f(av, b[i])
		}
	default:
		for i := range out {
			out[i] = f(a[i*sa], b[i*sb])
		}
	}
}

// binary evaluates out[i] = f(a[ia], b[ib]) over the broadcast.
func binary[T, U any](ec *execCtx, bc *bcast, out []U, a, b []T, f func(T, T) U) {
	sa, sb := bc.inner(0), bc.inner(1)
	n := bc.n
	bc.parRows(ec, func(o int, off []int) {
		binRow(out[o:o+n], a[off[0]:], sa, b[off[1]:], sb, f)
	})
}

// ternary evaluates out[i] = f(a[ia], b[ib], c[ic]) over the broadcast.
func ternary[A, B, C, U any](ec *execCtx, bc *bcast, out []U, a []A, b []B, c []C, f func(A, B, C) U) {
	sa, sb, sc := bc.inner(0), bc.inner(1), bc.inner(2)
	n := bc.n
	bc.parRows(ec, func(o int, off []int) {
		row := out[o : o+n]
		ao, bo, co := off[0], off[1], off[2]
		for i := range row {
			row[i] = f(a[ao+i*sa], b[bo+i*sb], c[co+i*sc])
		}
	})
}
