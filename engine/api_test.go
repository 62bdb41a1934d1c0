package engine_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strings"
	"testing"
)

// userAPI is package engine's exported surface: what a program that runs
// quantized ops sees. Backend contract types live in engine/backend; the
// few the user meets are aliases here. Growing this list is a decision
// for the API's review, not a side effect: update it with the README and
// the examples.
var userAPI = strings.Fields(`
Backends Batch Batch.Add Batch.AvgPool Batch.ByteWeightDequant Batch.Concat Batch.Conv
Batch.Dequantize Batch.Gemm Batch.Histogram Batch.HistogramAligned Batch.Len Batch.Lookup
Batch.MatMulNBits Batch.MaxPool Batch.MinMax Batch.Mul Batch.Ops Batch.Quantize Batch.ReLU
Batch.Release Batch.Requantize Batch.Run Batch.RunTimed Config ConvOptions DeviceInfo Engine
Engine.Backend Engine.CheckGuards Engine.Close Engine.Device Engine.Do Engine.Download
Engine.DownloadFloat32 Engine.DynamicQuantizeLinear Engine.Empty Engine.Fallbacks
Engine.Histogram Engine.HistogramResult Engine.MinMax Engine.MinMaxResults Engine.NewBatch
Engine.Observe Engine.ObserveAccumulators Engine.Reducer Engine.Reshape Engine.Supports
Engine.Upload Engine.UploadFloat32 Engine.Write Engine.WriteFloat32 ErrClosed ErrDeviceLost
ErrOutOfMemory ErrParams ErrShape ErrUnavailable ErrUnsupported GemmOptions HistogramCounts
Layout MaxConcatInputs MaxHistogramBins MaxNBitsBlock MinNBitsBlock NBitsOptions NCHW NHWC New
Options OutFloat32 OutInt32 OutQuantized OutputKind PoolOptions Tensor Tensor.Bytes Tensor.DType
Tensor.Desc Tensor.Dim Tensor.Len Tensor.Params Tensor.Rank Tensor.Release Tensor.Released
Tensor.Shape Tensor.String`)

// TestAPISurface checks the exported identifiers of package engine (and
// the methods of its exported types) against userAPI, and that every
// exported struct is flat: no embedded fields, so an options literal is
// one level (engine.GemmOptions{Output: ..., YType: ...}).
func TestAPISurface(t *testing.T) {
	fs := token.NewFileSet()
	pkgs, err := parser.ParseDir(fs, ".", func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range pkgs["engine"].Files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				name := d.Name.Name
				if d.Recv != nil {
					rt := d.Recv.List[0].Type
					if s, ok := rt.(*ast.StarExpr); ok {
						rt = s.X
					}
					id, ok := rt.(*ast.Ident)
					if !ok || !id.IsExported() {
						continue
					}
					name = id.Name + "." + name
				}
				got = append(got, name)
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if !s.Name.IsExported() {
							continue
						}
						got = append(got, s.Name.Name)
						if st, ok := s.Type.(*ast.StructType); ok {
							for _, fl := range st.Fields.List {
								if len(fl.Names) == 0 {
									t.Errorf("%s embeds %v: keep exported structs flat", s.Name.Name, fl.Type)
								}
							}
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() {
								got = append(got, n.Name)
							}
						}
					}
				}
			}
		}
	}
	slices.Sort(got)
	want := slices.Clone(userAPI)
	slices.Sort(want)
	for _, n := range got {
		if !slices.Contains(want, n) {
			t.Errorf("engine exports %s, which is not in userAPI (add it there if the user API should grow)", n)
		}
	}
	for _, n := range want {
		if !slices.Contains(got, n) {
			t.Errorf("userAPI lists %s, which engine no longer exports", n)
		}
	}
}
