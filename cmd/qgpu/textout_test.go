package main

import (
	"strings"
	"testing"
)

// TestWrapItems: items keep their order, lines stay within the width
// unless one item alone is longer, continuation lines are indented.
func TestWrapItems(t *testing.T) {
	items := []string{"a=1", "bb=22", "loop_budget=65535 iterations per invocation", strings.Repeat("x", 50), "c=3"}
	got := wrapItems("caps: ", items, 30)
	want := "caps: a=1  bb=22\n      loop_budget=65535 iterations per invocation\n      xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n      c=3\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestDevicesWrapped: devices prints capabilities wrapped at the width
// ($COLUMNS when stdout is no terminal): no line longer, except one
// holding a single item.
func TestDevicesWrapped(t *testing.T) {
	t.Setenv("COLUMNS", "80")
	for _, args := range [][]string{{"devices"}, {"bench", "quantize", "--size", "64", "--runs", "1", "--time", "0", "--no-f32"}} {
		_, out, _ := qgpu(t, args...)
		caps := 0
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "caps:") {
				caps++
			}
			if strings.HasPrefix(strings.TrimSpace(l), "backend") && strings.Contains(l, "op") {
				break // the bench table: its own width
			}
			if len(l) > 80 && strings.Contains(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "caps:")), "  ") {
				t.Errorf("%q: line of %d bytes: %q", args, len(l), l)
			}
		}
		if caps == 0 {
			t.Errorf("%q: no caps line:\n%s", args, out)
		}
	}
}
