package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestDepsChecksGoFirst runs scripts/deps.sh with fake apt tools: without
// Go on PATH it stops before installing anything; with Go, `bench` needs
// no package at all (no -dev package: the GPU backends build without
// headers) and `test` installs what dpkg does not have.
func TestDepsChecksGoFirst(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("deps.sh is for Debian")
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "deps.sh"))
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	log := filepath.Join(bin, "calls")
	fake := func(name, body string) {
		os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\necho \""+name+" $*\" >> "+log+"\n"+body), 0o755)
	}
	fake("dpkg-query", "exit 1\n") // nothing installed
	fake("apt-get", "")
	fake("sudo", "exec \"$@\"\n")
	goDir := filepath.Join(runtime.GOROOT(), "bin")
	run := func(path, what string) (string, string) {
		os.Remove(log)
		cmd := exec.Command("/bin/bash", script, what)
		cmd.Env = append(os.Environ(), "PATH="+path)
		out, _ := cmd.CombinedOutput()
		calls, _ := os.ReadFile(log)
		return string(out), string(calls)
	}
	out, calls := run(bin+":/usr/bin:/bin", "test")
	if !strings.Contains(out, "Go 1.") || !strings.Contains(out, "required") || strings.Contains(calls, "apt-get") {
		t.Errorf("without Go: output %q, apt calls %q; want a message about Go and no apt-get", out, calls)
	}
	out, calls = run(bin+":"+goDir+":/usr/bin:/bin", "bench")
	if strings.Contains(calls, "apt-get") || strings.Contains(calls, "-dev") {
		t.Errorf("bench installs %q (%s); it needs no package", calls, out)
	}
	out, calls = run(bin+":"+goDir+":/usr/bin:/bin", "test")
	if !strings.Contains(calls, "apt-get install") || !strings.Contains(calls, "mesa-vulkan-drivers") {
		t.Errorf("test: apt calls %q (%s)", calls, out)
	}
}

// TestMakeTestSaysWhatItDoes: every step of make test starts by printing
// what it does ("==> step: ..."), so that minutes of apt, vet or tests are
// not silent.
func TestMakeTestSaysWhatItDoes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	mk := string(b)
	i := strings.Index(mk, "\ntest:")
	if i < 0 {
		t.Fatal("no test target")
	}
	steps := strings.Fields(strings.SplitN(mk[i+len("\ntest:"):], "\n", 2)[0])
	if len(steps) < 5 {
		t.Fatalf("test: %v", steps)
	}
	for _, s := range steps {
		j := strings.Index(mk, "\n"+s+":")
		if j < 0 {
			t.Errorf("no target %s", s)
			continue
		}
		body := strings.SplitN(mk[j+1:], "\n", 3)
		if len(body) < 2 || !strings.HasPrefix(body[1], "\t@echo \"==> ") {
			t.Errorf("target %s does not start by saying what it does: %q", s, body[1])
		}
	}
}
