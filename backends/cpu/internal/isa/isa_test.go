package isa

import (
	"fmt"
	"testing"
)

type impl int32

const (
	generic impl = iota
	fast
	faster
)

func (i impl) String() string { return fmt.Sprintf("impl%d", int32(i)) }

func TestToggle(t *testing.T) {
	has := map[impl]bool{generic: true, fast: true}
	sup := func(i impl) bool { return has[i] }
	tg := New("x", sup, faster, fast)
	if got := tg.Current(); got != fast || tg.Detected() != fast {
		t.Fatalf("Current = %v, Detected = %v, want the best supported, %v", got, tg.Detected(), fast)
	}
	restore, err := tg.Set(generic)
	if err != nil || tg.Current() != generic {
		t.Fatalf("Set(generic): %v, Current %v", err, tg.Current())
	}
	restore()
	if tg.Current() != fast {
		t.Fatalf("after restore: %v", tg.Current())
	}
	if _, err := tg.Set(faster); err == nil || tg.Current() != fast {
		t.Fatalf("Set(unsupported): err %v, Current %v", err, tg.Current())
	}
	if got := New("x", func(impl) bool { return false }, faster).Current(); got != generic {
		t.Fatalf("nothing supported: %v, want the zero value", got)
	}
}
