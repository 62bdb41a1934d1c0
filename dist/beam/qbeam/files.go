package qbeam

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // plain paths

	"github.com/qgpu/qgpu/onnx"
	"github.com/qgpu/qgpu/onnx/onnxpb"
	"github.com/qgpu/qgpu/qtensor"
)

// isLocal reports whether path is a plain path of this machine's file
// system (no scheme such as gs://).
func isLocal(path string) bool { return !strings.Contains(path, "://") }

// expand returns the files a pattern matches, sorted; a pattern that
// matches nothing is an error naming it. Patterns are expanded by Beam's
// file systems (filepath.Glob for plain paths; gs:// when the gcs file
// system is linked in, as the commands do).
func expand(ctx context.Context, pattern string) ([]string, error) {
	fs, err := filesystem.New(ctx, pattern)
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	files, err := fs.List(ctx, pattern)
	if err != nil {
		return nil, fmt.Errorf("qbeam: %s: %w", pattern, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: qbeam: %s matches no file", os.ErrNotExist, pattern)
	}
	slices.Sort(files)
	return files, nil
}

// loadModel decodes the ONNX model at path (any Beam file system).
func loadModel(ctx context.Context, path string) (*onnxpb.ModelProto, error) {
	if isLocal(path) {
		return onnx.Load(path, onnx.DecodeOptions{})
	}
	fs, err := filesystem.New(ctx, path)
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	r, err := fs.OpenRead(ctx, path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	m, err := onnx.Read(r, onnx.DecodeOptions{})
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return m, nil
}

// localFiles returns local paths for files: plain paths as they are,
// others copied into a temporary directory (removed by the returned
// function), so that the .npy readers, which read local files, see them.
func localFiles(ctx context.Context, files []string) ([]string, func(), error) {
	out := slices.Clone(files)
	var dir string
	cleanup := func() {
		if dir != "" {
			os.RemoveAll(dir)
		}
	}
	for i, f := range files {
		if isLocal(f) {
			continue
		}
		if dir == "" {
			var err error
			if dir, err = os.MkdirTemp("", "qbeam-"); err != nil {
				return nil, cleanup, err
			}
		}
		local := fmt.Sprintf("%s/%d.npy", dir, i)
		if err := copyToLocal(ctx, f, local); err != nil {
			return nil, cleanup, err
		}
		out[i] = local
	}
	return out, cleanup, nil
}

func copyToLocal(ctx context.Context, src, dst string) error {
	fs, err := filesystem.New(ctx, src)
	if err != nil {
		return err
	}
	defer fs.Close()
	r, err := fs.OpenRead(ctx, src)
	if err != nil {
		return fmt.Errorf("qbeam: %s: %w", src, err)
	}
	defer r.Close()
	w, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return fmt.Errorf("qbeam: copying %s: %w", src, err)
	}
	return w.Close()
}

// writeFile writes data to path: a plain path atomically (a temporary
// file renamed over it, so a retried or killed writer never leaves half a
// file), others through Beam's file system (an object store commits the
// object on Close).
func writeFile(ctx context.Context, path string, data []byte) error {
	if isLocal(path) {
		return qtensor.WriteFileAtomic(path, func(w io.Writer) error {
			_, err := w.Write(data)
			return err
		})
	}
	fs, err := filesystem.New(ctx, path)
	if err != nil {
		return err
	}
	defer fs.Close()
	w, err := fs.OpenWrite(ctx, path)
	if err != nil {
		return fmt.Errorf("qbeam: %s: %w", path, err)
	}
	if _, err := w.Write(data); err != nil {
		w.Close()
		return fmt.Errorf("qbeam: %s: %w", path, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("qbeam: %s: %w", path, err)
	}
	return nil
}
