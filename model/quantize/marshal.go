package quantize

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/qgpu/qgpu/calib"
)

// ErrFormat is wrapped by every error about malformed serialized
// calibration data.
var ErrFormat = errors.New("quantize: malformed serialized calibration")

const (
	calMagic   = "qgpucal\x00"
	calVersion = 1
	// maxCalTensors bounds the tensor count a serialized calibration may
	// claim.
	maxCalTensors = 1 << 20
)

// MarshalBinary encodes the calibration: method, bins, run and sample
// counts, and every tensor's name and observer state (running min/max or
// histogram), with a CRC-32. Moving-average and torch-histogram
// calibrations, which cannot be merged, cannot be encoded either
// (ErrUnsupported).
func (c *Calibration) MarshalBinary() ([]byte, error) {
	m := c.q.opts.Method
	if !mergeable(m) {
		return nil, fmt.Errorf("%w: quantize: %v calibrations cannot be serialized (they cannot be merged)", ErrUnsupported, m)
	}
	b := []byte(calMagic)
	b = append(b, calVersion, byte(m))
	b = binary.LittleEndian.AppendUint32(b, uint32(c.q.opts.Bins))
	b = binary.LittleEndian.AppendUint64(b, uint64(c.runs))
	b = binary.LittleEndian.AppendUint64(b, uint64(c.samples))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(c.obs)))
	for i, ob := range c.obs {
		name := c.q.plan.observe[i]
		b = binary.LittleEndian.AppendUint32(b, uint32(len(name)))
		b = append(b, name...)
		s := ob.stats
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(s.Min))
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(s.Max))
		for _, v := range []int64{s.Count, s.NaN, s.PosInf, s.NegInf} {
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		}
		var h []byte
		if ob.hist != nil {
			var err error
			if h, err = ob.hist.MarshalBinary(); err != nil {
				return nil, err
			}
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(len(h)))
		b = append(b, h...)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b)), nil
}

// UnmarshalCalibration decodes a calibration written by MarshalBinary for
// a Quantizer of the same model and options (the tensors, method and bins
// must match). It checks sizes before allocating, the checksum and every
// field; it never panics.
func (q *Quantizer) UnmarshalCalibration(data []byte) (*Calibration, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrFormat}, a...)...)
	}
	const head = len(calMagic) + 2 + 4 + 8 + 8 + 4
	if len(data) < head+4 {
		return nil, bad("%d bytes", len(data))
	}
	if string(data[:len(calMagic)]) != calMagic {
		return nil, bad("not a qgpu calibration")
	}
	body := data[:len(data)-4]
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return nil, bad("checksum mismatch")
	}
	p := len(calMagic)
	if body[p] != calVersion {
		return nil, bad("version %d", body[p])
	}
	method, bins := body[p+1], binary.LittleEndian.Uint32(body[p+2:])
	runs, samples := binary.LittleEndian.Uint64(body[p+6:]), binary.LittleEndian.Uint64(body[p+14:])
	count := binary.LittleEndian.Uint32(body[p+22:])
	p = head
	if calib.Method(method) != q.opts.Method || int(bins) != q.opts.Bins {
		return nil, fmt.Errorf("%w: quantize: the calibration uses %v with %d bins, the quantizer %v with %d", ErrParams,
			calib.Method(method), bins, q.opts.Method, q.opts.Bins)
	}
	if runs > math.MaxInt32 || samples > math.MaxInt64/2 {
		return nil, bad("%d runs, %d samples", runs, samples)
	}
	const minRecord = 4 + 4 + 4 + 32 + 4
	if count > maxCalTensors || int(count) > (len(body)-p)/minRecord {
		return nil, bad("%d tensors in %d bytes", count, len(body)-p)
	}
	if int(count) != len(q.plan.observe) {
		return nil, fmt.Errorf("%w: quantize: the calibration has %d tensors, the quantizer calibrates %d", ErrParams, count, len(q.plan.observe))
	}
	c, err := q.NewCalibration()
	if err != nil {
		return nil, err
	}
	c.runs, c.samples = int(runs), int64(samples)
	u32 := func() (uint32, bool) {
		if len(body)-p < 4 {
			return 0, false
		}
		v := binary.LittleEndian.Uint32(body[p:])
		p += 4
		return v, true
	}
	for i := range c.obs {
		n, ok := u32()
		if !ok || int64(n) > int64(len(body)-p) {
			return nil, bad("tensor %d: truncated name", i)
		}
		name := string(body[p : p+int(n)])
		p += int(n)
		if name != q.plan.observe[i] {
			return nil, fmt.Errorf("%w: quantize: the calibration's tensor %d is %q, the quantizer's %q", ErrParams, i, name, q.plan.observe[i])
		}
		if len(body)-p < 40 {
			return nil, bad("tensor %q: truncated", name)
		}
		var s calib.RangeStats
		s.Min = math.Float32frombits(binary.LittleEndian.Uint32(body[p:]))
		s.Max = math.Float32frombits(binary.LittleEndian.Uint32(body[p+4:]))
		s.Count = int64(binary.LittleEndian.Uint64(body[p+8:]))
		s.NaN = int64(binary.LittleEndian.Uint64(body[p+16:]))
		s.PosInf = int64(binary.LittleEndian.Uint64(body[p+24:]))
		s.NegInf = int64(binary.LittleEndian.Uint64(body[p+32:]))
		p += 40
		if s.Count < 0 || s.NaN < 0 || s.PosInf < 0 || s.NegInf < 0 {
			return nil, bad("tensor %q: negative counts", name)
		}
		if s.Count > 0 && !(isFinite(s.Min) && isFinite(s.Max) && s.Min <= s.Max) {
			return nil, bad("tensor %q: range [%g, %g]", name, s.Min, s.Max)
		}
		if s.Count == 0 && (s.Min != 0 || s.Max != 0) {
			return nil, bad("tensor %q: a range without data", name)
		}
		hl, ok := u32()
		if !ok || int64(hl) > int64(len(body)-p) {
			return nil, bad("tensor %q: truncated histogram", name)
		}
		h := body[p : p+int(hl)]
		p += int(hl)
		ob := c.obs[i]
		switch {
		case ob.hist != nil:
			if err := ob.hist.UnmarshalBinary(h); err != nil {
				return nil, fmt.Errorf("%w: tensor %q: %v", ErrFormat, name, err)
			}
			if ob.hist.Bins() != q.opts.Bins {
				return nil, bad("tensor %q: %d bins", name, ob.hist.Bins())
			}
			if s != (calib.RangeStats{}) {
				return nil, bad("tensor %q: min/max state in a histogram calibration", name)
			}
		case hl != 0:
			return nil, bad("tensor %q: a histogram in a %v calibration", name, q.opts.Method)
		default:
			ob.stats = s
		}
	}
	if p != len(body) {
		return nil, bad("%d trailing bytes", len(body)-p)
	}
	return c, nil
}

func isFinite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }
