package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/qgpu/qgpu/tests"
)

const lavapipeICD = "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json"

// TestBenchTransferJSON runs qgpu bench on Vulkan (lavapipe) and checks the
// transfer records: upload and download rates consistent with their times
// and sizes, and the smallest submission with a wall and a device time.
func TestBenchTransferJSON(t *testing.T) {
	if _, err := os.Stat(lavapipeICD); err != nil {
		if tests.Required("vulkan") {
			t.Fatalf("lavapipe ICD: %v", err)
		}
		t.Skip("lavapipe not installed")
	}
	t.Setenv("VK_ICD_FILENAMES", lavapipeICD)
	code, out, stderr := qgpu(t, "bench", "quantize", "--size", "1000", "--backend", "vulkan", "--runs", "2", "--time", "0", "--json")
	if code != 0 {
		if !tests.Required("vulkan") && strings.Contains(stderr, "unavailable") {
			t.Skipf("vulkan unavailable: %s", stderr)
		}
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := map[string]benchResult{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r benchResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if _, dup := got[r.Op]; dup {
			t.Errorf("op %q twice", r.Op)
		}
		got[r.Op] = r
	}
	for _, op := range []string{"quantize", "upload", "download", "empty_submission"} {
		r, ok := got[op]
		if !ok {
			t.Errorf("no %q record in %q", op, out)
			continue
		}
		if r.Backend != "vulkan" || r.Runs < 2 || r.Seconds <= 0 || r.MinSeconds > r.Seconds || r.Seconds > r.MaxSeconds {
			t.Errorf("%s: %+v", op, r)
		}
		switch op {
		case "upload", "download":
			// 16 MiB moved per run.
			if want := float64(16<<20) / r.Seconds / 1e9; r.Elements != 16<<20 || r.GBps/want-1 > 1e-9 || r.GBps/want-1 < -1e-9 {
				t.Errorf("%s: %+v: GB/s want %g", op, r, want)
			}
		case "empty_submission":
			// lavapipe has timestamps: a device time, inside the wall time.
			if r.DeviceSeconds <= 0 || r.DeviceSeconds > r.MaxSeconds || !strings.Contains(r.Output, "relu") {
				t.Errorf("%s: %+v", op, r)
			}
		}
	}
	if len(got) != 4 {
		t.Errorf("ops %v", got)
	}
}
