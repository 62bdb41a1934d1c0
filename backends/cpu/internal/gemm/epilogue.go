package gemm

import (
	"fmt"
	"unsafe"

	"github.com/qgpu/qgpu/backends/cpu/internal/vec"
	"github.com/qgpu/qgpu/qtensor"
)

// Requant is a fused requantization epilogue (Options.Requant). Once an
// element of C is complete it is also written, requantized, to the output:
//
//	Out[m*LdOut+n] = qtensor.Requantize(C[m][n], Mult[n], ZP, QMin, QMax)
//	               = clamp(rint(float32(C[m][n]) * Mult[n]) + ZP, QMin, QMax)
//
// as soon as its last K block is done. C serves as a workspace between K
// blocks and its contents are unspecified after the call: the AVX-512
// VNNI kernels requantize the last block's tile straight from the
// registers and do not write C (1024^3 -> uint8 ran 8-10% slower through
// an int32 C re-read by a row pass). The same holds for FloatOut. A
// per-tensor multiplier is a Mult of length 1 (Mult[0] for every column);
// a fused ReLU is QMin = ZP.
//
// Preconditions (an error otherwise): exactly one of OutU8 and OutS8 set,
// LdOut >= N, output length >= (M-1)*LdOut + N, len(Mult) == 1 or >= N and
// every Mult[n] passes qtensor.CheckMultiplier, QMin <= QMax and ZP, QMin,
// QMax in the output type's range.
type Requant struct {
	Mult           []float32
	ZP, QMin, QMax int32
	OutU8          []uint8
	OutS8          []int8
	LdOut          int
}

// FloatOut is a fused float output epilogue (Options.Float):
//
//	Out[m*LdOut+n] = qtensor.FloatOutput(C[m][n], Scale[n], Bias[n])
//	               = float32(float32(C[m][n]) * Scale[n]) + Bias[n]
//
// with the multiply and the add rounded separately (never an FMA). Bias may
// be nil (zero). Scale[n] is normally float32(aScale * bScale[n]). A Scale
// or Bias of length 1 applies to every column. As with Requant, C's
// contents are unspecified after the call.
//
// Preconditions (an error otherwise): len(Scale) == 1 or >= N, Bias nil or
// len == 1 or >= N, LdOut >= N, len(Out) >= (M-1)*LdOut + N.
type FloatOut struct {
	Scale []float32
	Bias  []float32
	Out   []float32
	LdOut int
}

// epilogue is the validated epilogue of a job.
type epilogue struct {
	rq     *Requant
	out    []uint8 // OutU8 or OutS8 as bytes
	lo, hi float32
	fo     *FloatOut
	// The per-column vectors the kernels read, len >= N, or nil: one
	// value for all columns, repeated across a panel in multRep/biasRep
	// (no per-call N-sized copy of a per-tensor value).
	mult, bias       []float32
	multRep, biasRep [PanelCols]float32
}

// perColumn returns s (len 1 or >= N) as a per-column vector: rep filled
// with s[0] when s has one value (zeros when s is empty), otherwise s
// itself with rep unused.
func perColumn(s []float32, rep *[PanelCols]float32) []float32 {
	if len(s) > 1 {
		return s
	}
	if len(s) == 1 {
		for i := range rep {
			rep[i] = s[0]
		}
	}
	return nil
}

// cols returns the per-column values from column n0: v[n0:], or rep (a
// panel's worth of one value) when v is nil. Callers read at most one
// panel's columns.
func cols(v []float32, rep *[PanelCols]float32, n0 int) []float32 {
	if v == nil {
		return rep[:]
	}
	return v[n0:]
}

// perColumnLen reports whether a per-column vector of length l fits N
// columns: one value for all, or at least N.
func perColumnLen(l, N int) bool { return l == 1 || l >= N }

func checkOut(name string, lout, ld, M, N int) error {
	if ld < N || lout < N || (M-1) > (lout-N)/ld {
		return fmt.Errorf("%w: %s len=%d LdOut=%d for M=%d N=%d", ErrSize, name, lout, ld, M, N)
	}
	return nil
}

func newEpilogue(opt *Options, M, N int) (*epilogue, error) {
	if opt.Requant != nil && opt.Float != nil {
		return nil, fmt.Errorf("%w: both Requant and Float epilogues set", ErrSize)
	}
	if rq := opt.Requant; rq != nil {
		e := &epilogue{rq: rq}
		lo, hi := int32(0), int32(255)
		switch {
		case rq.OutU8 != nil && rq.OutS8 == nil:
			if err := checkOut("Requant.OutU8", len(rq.OutU8), rq.LdOut, M, N); err != nil {
				return nil, err
			}
			e.out = rq.OutU8
		case rq.OutS8 != nil && rq.OutU8 == nil:
			if err := checkOut("Requant.OutS8", len(rq.OutS8), rq.LdOut, M, N); err != nil {
				return nil, err
			}
			e.out = unsafe.Slice((*uint8)(unsafe.Pointer(unsafe.SliceData(rq.OutS8))), len(rq.OutS8))
			lo, hi = -128, 127
		default:
			return nil, fmt.Errorf("%w: Requant needs exactly one of OutU8, OutS8", ErrSize)
		}
		if rq.QMin > rq.QMax || rq.QMin < lo || rq.QMax > hi || rq.ZP < lo || rq.ZP > hi {
			return nil, fmt.Errorf("%w: Requant ZP=%d QMin=%d QMax=%d outside [%d, %d]", ErrSize, rq.ZP, rq.QMin, rq.QMax, lo, hi)
		}
		if !perColumnLen(len(rq.Mult), N) {
			return nil, fmt.Errorf("%w: len(Requant.Mult)=%d for N=%d (1 or >= N)", ErrSize, len(rq.Mult), N)
		}
		mults := rq.Mult[:min(N, len(rq.Mult))]
		for n, m := range mults {
			if n > 0 && m == mults[n-1] {
				continue // a per-tensor multiplier repeated: checked once
			}
			if err := qtensor.CheckMultiplier(m); err != nil {
				return nil, fmt.Errorf("gemm: Requant.Mult[%d]: %w", n, err)
			}
		}
		e.mult = perColumn(rq.Mult, &e.multRep)
		e.lo, e.hi = float32(rq.QMin-rq.ZP), float32(rq.QMax-rq.ZP)
		return e, nil
	}
	if fo := opt.Float; fo != nil {
		if !perColumnLen(len(fo.Scale), N) || (fo.Bias != nil && !perColumnLen(len(fo.Bias), N)) {
			return nil, fmt.Errorf("%w: Float len(Scale)=%d len(Bias)=%d for N=%d (1 or >= N)", ErrSize, len(fo.Scale), len(fo.Bias), N)
		}
		if err := checkOut("Float.Out", len(fo.Out), fo.LdOut, M, N); err != nil {
			return nil, err
		}
		e := &epilogue{fo: fo}
		e.mult = perColumn(fo.Scale, &e.multRep)
		e.bias = perColumn(fo.Bias, &e.biasRep)
		return e, nil
	}
	return nil, nil
}

// panelOut sets the per-column parts of o for the panel from column n0.
func (e *epilogue) panelOut(o *tileOut, n0 int) {
	o.mult = cols(e.mult, &e.multRep, n0)
	if o.float {
		o.bias = cols(e.bias, &e.biasRep, n0)
	}
}

// rowsOut points o at the output from row m, column n0 on.
func (e *epilogue) rowsOut(o *tileOut, m, n0 int) {
	if o.float {
		o.outF = e.fo.Out[m*e.fo.LdOut+n0:]
	} else {
		o.out8 = e.out[m*e.rq.LdOut+n0:]
	}
}

// apply runs the epilogue on rows [m, m+mr), columns [n0, n0+ncols) of the
// finished C with the qtensor formulas (the ISAs whose kernels do not
// write the output themselves, see kernelOutput), through the vec row
// kernels (AVX2 where the vec toggle allows, else Go).
func (e *epilogue) apply(j *job, m, mr, n0, ncols int) {
	for r := m; r < m+mr; r++ {
		acc := j.c[r*j.ldc+n0 : r*j.ldc+n0+ncols]
		if rq := e.rq; rq != nil {
			out := e.out[r*rq.LdOut+n0 : r*rq.LdOut+n0+ncols]
			vec.RequantizeCols(out, acc, cols(e.mult, &e.multRep, n0), rq.ZP, rq.QMin, rq.QMax)
			continue
		}
		fo := e.fo
		out := fo.Out[r*fo.LdOut+n0 : r*fo.LdOut+n0+ncols]
		vec.FloatCols(out, acc, cols(e.mult, &e.multRep, n0), cols(e.bias, &e.biasRep, n0))
	}
}
