package shaders

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// goField is one scalar field of a block as the Go compiler lays it out.
type goField struct {
	name   string
	offset uintptr
	kind   reflect.Kind
	index  []int
}

// goFields returns the scalar fields of struct type t in memory order,
// embedded structs flattened.
func goFields(t *testing.T, st reflect.Type) []goField {
	var out []goField
	for _, f := range reflect.VisibleFields(st) {
		if f.Anonymous {
			continue
		}
		off := uintptr(0)
		v := st
		for _, i := range f.Index {
			off += v.Field(i).Offset
			v = v.Field(i).Type
		}
		switch f.Type.Kind() {
		case reflect.Uint32, reflect.Int32, reflect.Float32:
		default:
			t.Fatalf("%v.%s: kind %v", st, f.Name, f.Type.Kind())
		}
		out = append(out, goField{f.Name, off, f.Type.Kind(), f.Index})
	}
	return out
}

// TestAppendTo: AppendTo writes each field at its Go offset, so the bytes
// sent to the device are the Go struct's layout.
func TestAppendTo(t *testing.T) {
	if len(blocks) != len(Kernels) {
		t.Fatalf("%d blocks for %d kernels", len(blocks), len(Kernels))
	}
	for i, p := range blocks {
		if p.Kernel() != Kernels[i] {
			t.Errorf("block %d: kernel %q, want %q", i, p.Kernel(), Kernels[i])
		}
		v := reflect.New(reflect.TypeOf(p).Elem()).Elem()
		fs := goFields(t, v.Type())
		for j, f := range fs {
			x := uint32(0x01020304 * (j + 1))
			switch f.kind {
			case reflect.Uint32:
				v.FieldByIndex(f.index).SetUint(uint64(x))
			case reflect.Int32:
				v.FieldByIndex(f.index).SetInt(int64(int32(x)))
			case reflect.Float32:
				v.FieldByIndex(f.index).SetFloat(float64(math.Float32frombits(x)))
			}
		}
		b := v.Addr().Interface().(Params).AppendTo(nil)
		if uintptr(len(b)) != v.Type().Size() || len(b) > ParamBytes {
			t.Errorf("%s: %d bytes, struct size %d, limit %d", p.Kernel(), len(b), v.Type().Size(), ParamBytes)
			continue
		}
		for j, f := range fs {
			if got := binary.LittleEndian.Uint32(b[f.offset:]); got != uint32(0x01020304*(j+1)) {
				t.Errorf("%s: field %s at offset %d: bytes hold %#x", p.Kernel(), f.name, f.offset, got)
			}
		}
	}
}

// glType is the GL type enum glslang reflects for each field kind.
var glType = map[reflect.Kind]string{reflect.Uint32: "1405", reflect.Int32: "1404", reflect.Float32: "1406"}

// TestParamLayout compiles every kernel for both APIs with glslang and
// checks from its reflection that the parameter block's members are the Go
// struct's fields: same names, types and byte offsets, and the same size.
func TestParamLayout(t *testing.T) {
	if _, err := exec.LookPath("glslangValidator"); err != nil {
		t.Skip("glslangValidator not installed (Debian: glslang-tools)")
	}
	dir := t.TempDir()
	for _, p := range blocks {
		st := reflect.TypeOf(p).Elem()
		fs := goFields(t, st)
		for _, api := range []API{Vulkan, OpenGL} {
			src, err := Source(p.Kernel(), api)
			if err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(dir, p.Kernel()+".comp")
			if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"-l", "-q", "--reflect-all-block-variables", f}
			if api == Vulkan {
				args = append([]string{"-V", "-o", filepath.Join(dir, "out.spv")}, args...)
			}
			out, err := exec.Command("glslangValidator", args...).CombinedOutput()
			if err != nil {
				t.Fatalf("glslangValidator %s (api %d): %v\n%s", p.Kernel(), api, err, out)
			}
			members, size := reflectBlock(t, out, st.Name())
			if len(members) != len(fs) || size != int(st.Size()) {
				t.Errorf("%s (api %d): block %s has %d members, %d bytes; Go struct %d fields, %d bytes",
					p.Kernel(), api, st.Name(), len(members), size, len(fs), st.Size())
			}
			for _, f := range fs {
				m, ok := members[f.name]
				if !ok {
					t.Errorf("%s (api %d): no member %s", p.Kernel(), api, f.name)
					continue
				}
				if m.offset != int(f.offset) || m.glType != glType[f.kind] {
					t.Errorf("%s (api %d): %s at offset %d type %s, Go offset %d type %s",
						p.Kernel(), api, f.name, m.offset, m.glType, f.offset, glType[f.kind])
				}
			}
		}
	}
}

type member struct {
	offset int
	glType string
}

// reflectBlock parses glslangValidator -q output: the members of block
// (lines "Block.Member: offset N, type T, ...") and its size (the
// "Block: ... size S" line of the uniform block section).
func reflectBlock(t *testing.T, out []byte, block string) (map[string]member, int) {
	ms := map[string]member{}
	size := -1
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		name, rest, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		attrs := map[string]string{}
		for _, kv := range strings.Split(rest, ", ") {
			if k, v, ok := strings.Cut(kv, " "); ok {
				attrs[k] = v
			}
		}
		switch {
		case strings.HasPrefix(name, block+"."):
			off, err := strconv.Atoi(attrs["offset"])
			if err != nil {
				t.Fatalf("reflection line %q: %v", line, err)
			}
			ms[strings.TrimPrefix(name, block+".")] = member{off, attrs["type"]}
		case name == block:
			size, _ = strconv.Atoi(attrs["size"])
		}
	}
	return ms, size
}
