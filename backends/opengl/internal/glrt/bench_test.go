package glrt

import (
	"testing"
	"time"
)

// BenchmarkNewEGL measures making and closing a context (thread start, EGL
// display and context, GL entry points, capability probe).
func BenchmarkNewEGL(b *testing.B) {
	newCtx(b, Options{})
	for b.Loop() {
		c, err := NewEGL(Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDo measures one empty round trip to the owner thread.
func BenchmarkDo(b *testing.B) {
	c := newCtx(b, Options{})
	for b.Loop() {
		if err := c.Do(func() error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmptyDispatch measures Run of one 1x1x1 dispatch of an empty
// shader plus glFinish; it reports the GPU time of the dispatch measured by
// a separate timed run.
func BenchmarkEmptyDispatch(b *testing.B) {
	c := newCtx(b, Options{})
	p := mustProgram(b, c, emptySrc)
	var batch Batch
	batch.Dispatch(Dispatch{Program: p, Groups: [3]uint32{1, 1, 1}})
	if _, err := c.Run(&batch); err != nil { // compile on first use
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := c.Run(&batch); err != nil {
			b.Fatal(err)
		}
		if err := c.Finish(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	batch.Timing = true
	var gpu time.Duration
	const reps = 100
	for i := 0; i < reps; i++ {
		st, err := c.Run(&batch)
		if err != nil {
			b.Fatal(err)
		}
		gpu += st.TotalGPU()
	}
	b.ReportMetric(float64(gpu.Nanoseconds())/reps, "gpu-ns/dispatch")
}

// BenchmarkBatch100Empty measures 100 dependent-free empty dispatches in one Run.
func BenchmarkBatch100Empty(b *testing.B) {
	c := newCtx(b, Options{})
	p := mustProgram(b, c, emptySrc)
	var batch Batch
	for i := 0; i < 100; i++ {
		batch.Dispatch(Dispatch{Program: p, Groups: [3]uint32{1, 1, 1}})
	}
	for b.Loop() {
		if _, err := c.Run(&batch); err != nil {
			b.Fatal(err)
		}
		if err := c.Finish(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100, "ns/dispatch")
}

// BenchmarkChained100 measures 100 dependent dispatches (each needs a
// barrier) of the add shader over 1024 elements, with Params per dispatch.
func BenchmarkChained100(b *testing.B) {
	c := newCtx(b, Options{})
	p := mustProgram(b, c, addSrc)
	const n = 1024
	x, y := mustBuffer(b, c, 4*n), mustBuffer(b, c, 4*n)
	var batch Batch
	for i := 0; i < 50; i++ {
		batch.Dispatch(addDispatch(p, x, x, y, n, 1))
		batch.Dispatch(addDispatch(p, y, y, x, n, 1))
	}
	for b.Loop() {
		if _, err := c.Run(&batch); err != nil {
			b.Fatal(err)
		}
		if err := c.Finish(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100, "ns/dispatch")
}

// BenchmarkUploadDownload1MiB measures a 1 MiB upload and download.
func BenchmarkUploadDownload1MiB(b *testing.B) {
	c := newCtx(b, Options{})
	const n = 1 << 20
	buf := mustBuffer(b, c, n)
	data := make([]byte, n)
	b.SetBytes(2 * n)
	for b.Loop() {
		if err := buf.Upload(0, data); err != nil {
			b.Fatal(err)
		}
		if err := buf.Download(0, data); err != nil {
			b.Fatal(err)
		}
	}
}
