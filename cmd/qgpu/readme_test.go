package main

import (
	"encoding/json"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// readmePath is the repository's README.
var readmePath = filepath.Join("..", "..", "README.md")

// readmeBlocks returns the fenced blocks of the README in language lang.
func readmeBlocks(t *testing.T, lang string) []string {
	t.Helper()
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?ms)^```"+lang+"\n(.*?)^```").FindAllStringSubmatch(string(b), -1) {
		blocks = append(blocks, m[1])
	}
	if len(blocks) == 0 {
		t.Fatalf("no %s block in the README", lang)
	}
	return blocks
}

// shellWords splits a command line like sh: words separated by blanks,
// single and double quotes grouping, a # starting a comment.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == '#' && !in:
			i = len(line)
		case c == ' ' || c == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}

// TestREADMEShell runs every command of the README's shell blocks, in
// order, in a fresh directory: the quick start makes its own inputs. make
// targets must exist in the Makefile (they are the whole build and test,
// not run here); the go build line is this package. Benchmarks run with
// one timed run per case and conformance on a few ops, to keep the test
// short: the commands and their flags are the README's.
func TestREADMEShell(t *testing.T) {
	mk, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmeBlocks(t, "sh")
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	// The commands run from the repository root in the README; here from a
	// fresh directory whose model/ is the repository's, so the committed
	// test models are where the README says and outputs land elsewhere.
	t.Chdir(t.TempDir())
	if err := os.Symlink(filepath.Join(root, "model"), "model"); err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, block := range blocks {
		for _, line := range strings.Split(block, "\n") {
			w := shellWords(line)
			switch {
			case len(w) == 0:
			case w[0] == "make":
				if !regexp.MustCompile("(?m)^" + regexp.QuoteMeta(w[1]) + ":").Match(mk) {
					t.Errorf("README: %q: no such make target", line)
				}
			case strings.Join(w, " ") == "go build -o qgpu ./cmd/qgpu":
			case w[0] == "./qgpu" || w[0] == "qgpu":
				args := w[1:]
				switch args[0] {
				case "bench":
					args = append(args, "--runs", "1", "--time", "0", "--max-time", "1ns", "--no-f32")
				case "conformance":
					args = append(args, "--run", "^(ReLU|Quantize)/")
				}
				code, out, stderr := qgpu(t, args...)
				if code != 0 {
					t.Errorf("README: %q: exit %d: %s", line, code, stderr)
				}
				if strings.Contains(line, "--json") && !json.Valid([]byte(strings.SplitN(out, "\n", 2)[0])) {
					t.Errorf("README: %q: output is not JSON lines: %q", line, out)
				}
				ran++
			default:
				t.Errorf("README: shell line %q is neither make, go build nor qgpu: the test cannot run it", line)
			}
		}
	}
	if ran < 10 {
		t.Errorf("only %d qgpu commands in the README", ran)
	}
	for _, f := range []string{"w.qt", "report.png", "y.npy", "b.npy"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("the quick start did not make %s: %v", f, err)
		}
	}
}

// TestREADMEGo builds and runs every Go block of the README as a program
// of this module (gofmt-formatted), and compares what it prints with the
// block's "// Output:" line.
func TestREADMEGo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs")
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i, block := range readmeBlocks(t, "go") {
		if f, err := format.Source([]byte(block)); err != nil || string(f) != block {
			t.Errorf("Go block %d is not gofmt-formatted (%v):\n%s", i, err, f)
		}
		src := filepath.Join(dir, "main.go")
		if err := os.WriteFile(src, []byte(block), 0o644); err != nil {
			t.Fatal(err)
		}
		ov, _ := json.Marshal(map[string]any{"Replace": map[string]string{filepath.Join(root, "internal", "readmeprog", "main.go"): src}})
		ovPath := filepath.Join(dir, "overlay.json")
		os.WriteFile(ovPath, ov, 0o644)
		bin := filepath.Join(dir, "prog")
		cmd := exec.Command(goTool, "build", "-overlay", ovPath, "-o", bin, "./internal/readmeprog")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("Go block %d does not build: %v\n%s\n%s", i, err, out, block)
			continue
		}
		run := exec.Command(bin)
		run.Dir = root // README programs run from the repository root, as its commands do
		out, err := run.CombinedOutput()
		if err != nil {
			t.Errorf("Go block %d fails: %v\n%s", i, err, out)
			continue
		}
		m := regexp.MustCompile(`(?m)^\s*// Output: (.*)$`).FindStringSubmatch(block)
		if m == nil {
			t.Errorf("Go block %d has no // Output: line", i)
		} else if got := strings.TrimSpace(string(out)); got != m[1] {
			t.Errorf("Go block %d prints %q, its // Output: says %q", i, got, m[1])
		}
	}
}
