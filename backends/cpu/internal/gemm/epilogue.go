package gemm

import (
	"fmt"
	"unsafe"

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
// per-tensor multiplier is a Mult filled with one value; a fused ReLU is
// QMin = ZP.
//
// Preconditions (an error otherwise): exactly one of OutU8 and OutS8 set,
// LdOut >= N, output length >= (M-1)*LdOut + N, len(Mult) >= N and every
// Mult[n] passes qtensor.CheckMultiplier, QMin <= QMax and ZP, QMin, QMax in
// the output type's range.
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
// be nil (zero). Scale[n] is normally float32(aScale * bScale[n]). As with
// Requant, C's contents are unspecified after the call.
//
// Preconditions (an error otherwise): len(Scale) >= N, Bias nil or
// len >= N, LdOut >= N, len(Out) >= (M-1)*LdOut + N.
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
	bias   []float32 // fo.Bias or zeros, len >= N
}

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
		if len(rq.Mult) < N {
			return nil, fmt.Errorf("%w: len(Requant.Mult)=%d < N=%d", ErrSize, len(rq.Mult), N)
		}
		for n, m := range rq.Mult[:N] {
			if n > 0 && m == rq.Mult[n-1] {
				continue // a per-tensor multiplier repeated: checked once
			}
			if err := qtensor.CheckMultiplier(m); err != nil {
				return nil, fmt.Errorf("gemm: Requant.Mult[%d]: %w", n, err)
			}
		}
		e.lo, e.hi = float32(rq.QMin-rq.ZP), float32(rq.QMax-rq.ZP)
		return e, nil
	}
	if fo := opt.Float; fo != nil {
		if len(fo.Scale) < N || (fo.Bias != nil && len(fo.Bias) < N) {
			return nil, fmt.Errorf("%w: Float len(Scale)=%d len(Bias)=%d for N=%d", ErrSize, len(fo.Scale), len(fo.Bias), N)
		}
		if err := checkOut("Float.Out", len(fo.Out), fo.LdOut, M, N); err != nil {
			return nil, err
		}
		e := &epilogue{fo: fo, bias: fo.Bias}
		if e.bias == nil {
			e.bias = make([]float32, N)
		}
		return e, nil
	}
	return nil, nil
}

// panelOut sets the per-column parts of o for the panel from column n0.
func (e *epilogue) panelOut(o *tileOut, n0 int) {
	if o.float {
		o.mult, o.bias = e.fo.Scale[n0:], e.bias[n0:]
	} else {
		o.mult = e.rq.Mult[n0:]
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
// write the output themselves, see kernelOutput).
func (e *epilogue) apply(j *job, m, mr, n0, ncols int) {
	for r := m; r < m+mr; r++ {
		acc := j.c[r*j.ldc+n0 : r*j.ldc+n0+ncols]
		if rq := e.rq; rq != nil {
			out := e.out[r*rq.LdOut+n0 : r*rq.LdOut+n0+ncols]
			mult := rq.Mult[n0 : n0+ncols]
			for i := range out {
				out[i] = uint8(qtensor.Requantize(acc[i], mult[i], rq.ZP, rq.QMin, rq.QMax))
			}
			continue
		}
		fo := e.fo
		out := fo.Out[r*fo.LdOut+n0 : r*fo.LdOut+n0+ncols]
		scale, bias := fo.Scale[n0:n0+ncols], e.bias[n0:n0+ncols]
		for i := range out {
			out[i] = qtensor.FloatOutput(acc[i], scale[i], bias[i])
		}
	}
}
