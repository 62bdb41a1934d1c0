package qbeam

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"testing"

	"github.com/qgpu/qgpu/calib"
)

// stateSeeds returns encoded states of every kind: min/max and
// histograms, per tensor and per channel (axis 0 and inner), empty.
func stateSeeds(t testing.TB) [][]byte {
	t.Helper()
	ctx := context.Background()
	x := make([]float32, 4*3*5)
	for i := range x {
		x[i] = float32(i%11)*0.5 - 2
	}
	x[3], x[17] = float32(math.NaN()), float32(math.Inf(-1))
	var out [][]byte
	for _, tc := range []struct {
		m    calib.Method
		axis int
	}{
		{calib.MethodMinMax, -1}, {calib.MethodMinMax, 0}, {calib.MethodMinMax, 2},
		{calib.MethodPercentile, -1}, {calib.MethodKL, 1}, {calib.MethodL2, 0},
	} {
		s := newTensorState(tc.m, 16, tc.axis, []int{3, 5})
		s.files = 1
		b, err := s.MarshalBinary() // empty
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
		if err := s.observe(ctx, x, 4); err != nil {
			t.Fatal(err)
		}
		if b, err = s.MarshalBinary(); err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// TestTensorStateRoundTrip: every state decodes to one that encodes to
// the same bytes, and every corruption of a byte, truncation or extension
// is refused with ErrFormat.
func TestTensorStateRoundTrip(t *testing.T) {
	for i, b := range stateSeeds(t) {
		s, err := unmarshalTensorState(b)
		if err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		b2, err := s.MarshalBinary()
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("seed %d: round trip changed the encoding (%v)", i, err)
		}
		for k := range b {
			c := bytes.Clone(b)
			c[k] ^= 0x10
			if _, err := unmarshalTensorState(c); !errors.Is(err, ErrFormat) {
				t.Fatalf("seed %d: byte %d flipped: %v", i, k, err)
			}
		}
		for _, c := range [][]byte{b[:len(b)-1], b[:len(b)/2], append(bytes.Clone(b), 0)} {
			if _, err := unmarshalTensorState(c); !errors.Is(err, ErrFormat) {
				t.Fatalf("seed %d: %d bytes of %d: %v", i, len(c), len(b), err)
			}
		}
	}
}

// TestTensorStateMerge: the state of two halves merged, in either order,
// encodes exactly as the state of the whole; merging files with other
// row shapes, or two files per channel along axis 0, is refused.
func TestTensorStateMerge(t *testing.T) {
	ctx := context.Background()
	x := make([]float32, 6*4)
	for i := range x {
		x[i] = float32(math.Sin(float64(i))) * float32(i)
	}
	for _, m := range []calib.Method{calib.MethodMinMax, calib.MethodL2} {
		for _, axis := range []int{-1, 1} {
			whole := newTensorState(m, 32, axis, []int{4})
			whole.files = 2
			if err := whole.observe(ctx, x, 6); err != nil {
				t.Fatal(err)
			}
			want, _ := whole.MarshalBinary()
			half := func(lo, hi int) *tensorState {
				s := newTensorState(m, 32, axis, []int{4})
				s.files = 1
				if err := s.observe(ctx, x[lo*4:hi*4], hi-lo); err != nil {
					t.Fatal(err)
				}
				return s
			}
			for _, order := range [][2][2]int{{{0, 2}, {2, 6}}, {{2, 6}, {0, 2}}} {
				a, b := half(order[0][0], order[0][1]), half(order[1][0], order[1][1])
				if err := a.merge(b); err != nil {
					t.Fatal(err)
				}
				if got, _ := a.MarshalBinary(); !bytes.Equal(got, want) {
					t.Errorf("%v axis %d: merged halves differ from the whole", m, axis)
				}
			}
		}
	}
	a, b := newTensorState(calib.MethodMinMax, 0, -1, []int{4}), newTensorState(calib.MethodMinMax, 0, -1, []int{5})
	if err := a.merge(b); err == nil {
		t.Error("rows of shapes [4] and [5] merged")
	}
	a, b = newTensorState(calib.MethodMinMax, 0, 0, []int{4}), newTensorState(calib.MethodMinMax, 0, 0, []int{4})
	if err := a.merge(b); err == nil {
		t.Error("two files per channel along axis 0 merged")
	}
}

// FuzzTensorState: the decoder never panics, and what it accepts
// re-encodes to the same bytes (the encoding is canonical). Each input is
// also tried with its checksum made right, so that the fuzzer reaches the
// checks behind it.
func FuzzTensorState(f *testing.F) {
	for _, b := range stateSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		try := func(b []byte) {
			s, err := unmarshalTensorState(b)
			if err != nil {
				if !errors.Is(err, ErrFormat) {
					t.Fatalf("error without ErrFormat: %v", err)
				}
				return
			}
			b2, err := s.MarshalBinary()
			if err != nil || !bytes.Equal(b, b2) {
				t.Fatalf("accepted a non-canonical encoding (%v)", err)
			}
		}
		try(b)
		if len(b) >= 4 {
			fixed := bytes.Clone(b)
			binary.LittleEndian.PutUint32(fixed[len(b)-4:], crc32.ChecksumIEEE(b[:len(b)-4]))
			try(fixed)
		}
	})
}
