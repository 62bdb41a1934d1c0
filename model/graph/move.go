package graph

// Data movement shared by the shape ops: a strided box copy, a fill and an
// index gather, each written once as a generic function over the element
// types and dispatched by dtype.

// box is a strided copy: for every index i of dims,
//
//	dst[doff + sum_k i_k*dst[k]] = src[soff + sum_k i_k*src[k]].
type box struct {
	dims       []int
	dst, src   []int
	doff, soff int
}

// simplify drops unit dimensions and merges adjacent dimensions that are
// contiguous in both source and destination.
func (b box) simplify() box {
	var r box
	r.doff, r.soff = b.doff, b.soff
	for k, n := range b.dims {
		if n == 1 {
			continue
		}
		if m := len(r.dims); m > 0 && r.dst[m-1] == b.dst[k]*n && r.src[m-1] == b.src[k]*n {
			r.dims[m-1] *= n
			r.dst[m-1] = b.dst[k]
			r.src[m-1] = b.src[k]
			continue
		}
		r.dims = append(r.dims, n)
		r.dst = append(r.dst, b.dst[k])
		r.src = append(r.src, b.src[k])
	}
	return r
}

func boxCopy[T any](d, s []T, b box) {
	for _, n := range b.dims {
		if n == 0 {
			return
		}
	}
	b = b.simplify()
	r := len(b.dims)
	if r == 0 {
		d[b.doff] = s[b.soff]
		return
	}
	n := b.dims[r-1]
	ds, ss := b.dst[r-1], b.src[r-1]
	idx := make([]int, r-1)
	doff, soff := b.doff, b.soff
	for {
		switch {
		case ds == 1 && ss == 1:
			copy(d[doff:doff+n], s[soff:soff+n])
		case ds == 1 && ss == 0:
			v := s[soff]
			row := d[doff : doff+n]
			for i := range row {
				row[i] = v
			}
		default:
			for i := 0; i < n; i++ {
				d[doff+i*ds] = s[soff+i*ss]
			}
		}
		// odometer over the outer dimensions
		k := r - 2
		for ; k >= 0; k-- {
			idx[k]++
			doff += b.dst[k]
			soff += b.src[k]
			if idx[k] < b.dims[k] {
				break
			}
			doff -= b.dst[k] * b.dims[k]
			soff -= b.src[k] * b.dims[k]
			idx[k] = 0
		}
		if k < 0 {
			return
		}
	}
}

// copyBox copies a box from src to dst, which have the same dtype.
func copyBox(dst, src *Tensor, b box) {
	switch dst.DType {
	case Float32:
		boxCopy(dst.F32, src.F32, b)
	case Int64:
		boxCopy(dst.I64, src.I64, b)
	case Int32:
		boxCopy(dst.I32, src.I32, b)
	case Int8:
		boxCopy(dst.I8, src.I8, b)
	case Uint8:
		boxCopy(dst.U8, src.U8, b)
	case Bool:
		boxCopy(dst.Bool, src.Bool, b)
	}
}

func fillT[T any](d []T, v T) {
	for i := range d {
		d[i] = v
	}
}

// fillFrom sets every element of t to element 0 of v (same dtype).
func fillFrom(t, v *Tensor) {
	switch t.DType {
	case Float32:
		fillT(t.F32, v.F32[0])
	case Int64:
		fillT(t.I64, v.I64[0])
	case Int32:
		fillT(t.I32, v.I32[0])
	case Int8:
		fillT(t.I8, v.I8[0])
	case Uint8:
		fillT(t.U8, v.U8[0])
	case Bool:
		fillT(t.Bool, v.Bool[0])
	}
}

func takeT[T any](d, s []T, idx []int) {
	for i, j := range idx {
		if j >= 0 {
			d[i] = s[j]
		}
	}
}

// take sets dst[i] = src[idx[i]] for every idx[i] >= 0.
func take(dst, src *Tensor, idx []int) {
	switch dst.DType {
	case Float32:
		takeT(dst.F32, src.F32, idx)
	case Int64:
		takeT(dst.I64, src.I64, idx)
	case Int32:
		takeT(dst.I32, src.I32, idx)
	case Int8:
		takeT(dst.I8, src.I8, idx)
	case Uint8:
		takeT(dst.U8, src.U8, idx)
	case Bool:
		takeT(dst.Bool, src.Bool, idx)
	}
}

// scalarOf returns a one-element tensor of dtype d holding v converted
// (for pad values and fills).
func scalarOf(d DType, v float64) *Tensor {
	t := newTensor(d, []int{}, 1)
	switch d {
	case Float32:
		t.F32[0] = float32(v)
	case Int64:
		t.I64[0] = int64(v)
	case Int32:
		t.I32[0] = int32(v)
	case Int8:
		t.I8[0] = int8(v)
	case Uint8:
		t.U8[0] = uint8(v)
	case Bool:
		t.Bool[0] = v != 0
	}
	return t
}

// elemAt returns element i of t as a one-element tensor.
func elemAt(t *Tensor, i int) *Tensor {
	s := newTensor(t.DType, []int{}, 1)
	copyBox(s, t, box{dims: []int{1}, dst: []int{1}, src: []int{1}, soff: i})
	return s
}
