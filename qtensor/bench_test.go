package qtensor

import (
	"bytes"
	"testing"
)

const benchBytes = 64 << 20

func benchTensor(b *testing.B) *Tensor {
	x, err := New(Int8, []int{benchBytes / 1024, 1024}, TensorParams(0.05, 0))
	if err != nil {
		b.Fatal(err)
	}
	for i := range x.Data {
		x.Data[i] = byte(i * 7)
	}
	return x
}

// BenchmarkEncodeDecode64MiB is Marshal then Unmarshal of a 64 MiB int8
// tensor; compare its MB/s with BenchmarkCopy64MiB.
func BenchmarkEncodeDecode64MiB(b *testing.B) {
	x := benchTensor(b)
	b.SetBytes(benchBytes)
	for b.Loop() {
		m, err := Marshal(x)
		if err != nil {
			b.Fatal(err)
		}
		y, err := Unmarshal(m)
		if err != nil || len(y.Data) != benchBytes {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeDecodeStream64MiB is Encode into a reused buffer then
// Decode from it.
func BenchmarkEncodeDecodeStream64MiB(b *testing.B) {
	x := benchTensor(b)
	var buf bytes.Buffer
	buf.Grow(benchBytes + 4096)
	b.SetBytes(benchBytes)
	for b.Loop() {
		buf.Reset()
		if err := Encode(&buf, x); err != nil {
			b.Fatal(err)
		}
		if _, err := Decode(&buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCopy64MiB is copy() of 64 MiB into a fresh slice, the floor
// for any decoder that returns a tensor owning its data.
func BenchmarkCopy64MiB(b *testing.B) {
	src := make([]byte, benchBytes)
	for i := range src {
		src[i] = byte(i * 7)
	}
	b.SetBytes(benchBytes)
	for b.Loop() {
		dst := make([]byte, benchBytes)
		copy(dst, src)
	}
}

// BenchmarkCopyReuse64MiB is copy() of 64 MiB into a reused slice.
func BenchmarkCopyReuse64MiB(b *testing.B) {
	src := make([]byte, benchBytes)
	dst := make([]byte, benchBytes)
	b.SetBytes(benchBytes)
	for b.Loop() {
		copy(dst, src)
	}
}
