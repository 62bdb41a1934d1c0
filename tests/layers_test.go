package tests

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestLayers checks the dependency direction docs/architecture.md states:
// every package of the module imports only packages of lower layers (or
// packages inside its own tree, such as its internal packages), as the
// document's layer table lists them.
func TestLayers(t *testing.T) {
	const module = "github.com/qgpu/qgpu/"
	f, err := os.Open("../docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	layer := map[string]int{}
	row := regexp.MustCompile("^\\| ([0-9]+) \\| (.*) \\|$")
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := row.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		for _, p := range strings.Split(m[2], ",") {
			layer[strings.Trim(strings.TrimSpace(p), "`")] = n
		}
	}
	if len(layer) < 10 {
		t.Fatalf("read %d packages from the layer table of docs/architecture.md", len(layer))
	}
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", "../...").Output()
	if err != nil {
		t.Fatal(err)
	}
	// owner returns the listed package a module path belongs to: itself or
	// the nearest listed ancestor (internal and helper packages belong to
	// their tree).
	owner := func(p string) (string, bool) {
		for q := p; q != "."; {
			if _, ok := layer[q]; ok {
				return q, true
			}
			i := strings.LastIndex(q, "/")
			if i < 0 {
				break
			}
			q = q[:i]
		}
		return "", false
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		path := strings.TrimPrefix(p.ImportPath, module)
		from, ok := owner(path)
		if !ok {
			t.Errorf("package %s is in no layer of docs/architecture.md", path)
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			ip := strings.TrimPrefix(imp, module)
			to, ok := owner(ip)
			if !ok || to == from || strings.HasPrefix(ip, from+"/") {
				continue // unlisted packages are reported above; own tree is fine
			}
			if layer[to] >= layer[from] {
				t.Errorf("%s (layer %d) imports %s (layer %d): imports must point to lower layers", path, layer[from], ip, layer[to])
			}
		}
	}
}

// TestCLIDoesNotLinkTesting: the suite runs from the qgpu command
// (qgpu conformance), so no package the command imports may import
// testing (the test wrappers in _test.go files are the only users).
func TestCLIDoesNotLinkTesting(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../cmd/qgpu").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p == "testing" {
			t.Fatal("cmd/qgpu links package testing: a non-test file of a package it imports imports testing (go list -deps ./cmd/qgpu)")
		}
	}
}
