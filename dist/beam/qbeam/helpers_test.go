package qbeam

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/qgpu/qgpu/qtensor"
)

// The pipelines of these tests run on Prism, the Go SDK's runner, in this
// process (loopback workers).
func TestMain(m *testing.M) {
	code := ptest.MainRetWithDefault(m, "prism")
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// root is the repository (the main module).
var root = filepath.Join("..", "..", "..")

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// qgpuCLI returns the path of the qgpu command, built once from the main
// module: the single-process reference the pipelines must match.
func qgpuCLI(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "qbeam-qgpu-"); binErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, "qgpu"), "./cmd/qgpu")
		cmd.Dir = root
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			binErr = &buildError{err, out.String()}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return filepath.Join(binDir, "qgpu")
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return "building qgpu: " + e.err.Error() + "\n" + e.out }

// runCLI runs the qgpu command and fails the test on a non-zero exit.
func runCLI(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(qgpuCLI(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("qgpu %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.Bytes()
}

// saveF32 writes x with the given shape as a float32 .npy file.
func saveF32(t testing.TB, path string, shape []int, x []float32) {
	t.Helper()
	tt, err := qtensor.FromFloat32(shape, x)
	if err != nil {
		t.Fatal(err)
	}
	if err := qtensor.SaveNPY(path, tt); err != nil {
		t.Fatal(err)
	}
}

// runPipeline builds a pipeline with build and runs it on Prism,
// returning the run's error and its counters by name.
func runPipeline(t *testing.T, build func(s beam.Scope) error) (map[string]int64, error) {
	t.Helper()
	p, s := beam.NewPipelineWithRoot()
	if err := build(s); err != nil {
		return nil, err
	}
	res, err := beam.Run(context.Background(), "prism", p)
	if err != nil {
		return nil, err
	}
	counters := map[string]int64{}
	for _, c := range res.Metrics().AllMetrics().Counters() {
		counters[c.Key.Name] += c.Result()
	}
	return counters, nil
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func osMkdirAll(dir string) error             { return os.MkdirAll(dir, 0o755) }
func osWriteFile(path string, b []byte) error { return os.WriteFile(path, b, 0o644) }
