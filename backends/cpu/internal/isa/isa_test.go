package isa

import "testing"

func TestToggle(t *testing.T) {
	has := map[ISA]bool{AVX2: true}
	tg := New("x", func(v ISA) bool { return has[v] })
	if got := tg.Current(); got != AVX2 || tg.Detected() != AVX2 {
		t.Fatalf("Current = %v, Detected = %v, want the best supported, %v", got, tg.Detected(), AVX2)
	}
	if !tg.Supported(Generic) || !tg.Supported(AVX2) || tg.Supported(AVX512) || tg.Supported(ISA(7)) {
		t.Fatalf("Supported disagrees with the package's function and Generic")
	}
	restore, err := tg.Set(Generic)
	if err != nil || tg.Current() != Generic {
		t.Fatalf("Set(Generic): %v, Current %v", err, tg.Current())
	}
	restore()
	if tg.Current() != AVX2 {
		t.Fatalf("after restore: %v", tg.Current())
	}
	if _, err := tg.Set(AVX512); err == nil || tg.Current() != AVX2 {
		t.Fatalf("Set(unsupported): err %v, Current %v", err, tg.Current())
	}
	if got := New("x", func(ISA) bool { return false }).Current(); got != Generic {
		t.Fatalf("nothing supported: %v, want Generic", got)
	}
	for v, want := range map[ISA]ISA{AVX512: AVX2, AVX2: AVX2, Generic: Generic} {
		if got := AtMost(tg.Supported, v); got != want {
			t.Errorf("AtMost(%v) = %v, want %v", v, got, want)
		}
	}
}

func TestString(t *testing.T) {
	for v, want := range map[ISA]string{Generic: "generic", AVX2: "avx2", AVX512: "avx512", ISA(9): "ISA(9)"} {
		if got := v.String(); got != want {
			t.Errorf("%d: %q, want %q", int32(v), got, want)
		}
	}
}
