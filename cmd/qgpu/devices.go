package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/engine/backend"
)

func init() {
	register(&command{name: "devices", summary: "list the compiled-in backends and their devices", run: cmdDevices})
}

// deviceReport is one line of `qgpu devices --json`.
type deviceReport struct {
	Backend   string            `json:"backend"`
	Available bool              `json:"available"`
	Name      string            `json:"name,omitempty"`
	Kind      string            `json:"kind,omitempty"`
	Driver    string            `json:"driver,omitempty"`
	Caps      map[string]string `json:"caps,omitempty"`
	Reason    string            `json:"reason,omitempty"`
}

func probeDevices() []deviceReport {
	var out []deviceReport
	for _, name := range engine.Backends() {
		r := deviceReport{Backend: name}
		b, err := backend.Open(name, engine.Options{})
		if err != nil {
			r.Reason = err.Error()
		} else {
			d := b.Device()
			r.Available = true
			r.Name, r.Kind, r.Driver, r.Caps = d.Name, d.Kind, d.Driver, d.Caps
			b.Close()
		}
		out = append(out, r)
	}
	return out
}

func cmdDevices(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("devices", "qgpu devices [--json]", `
Lists every backend compiled into this binary, highest priority first. For
each it opens the backend and prints its device (name, kind, driver and
capabilities), or the exact reason it is unavailable on this machine.`, `
  qgpu devices
  qgpu devices --json | jq -r 'select(.available) | .backend'`, stdout)
	asJSON := fs.Bool("json", false, "print one JSON object per backend per line")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("devices: unexpected argument %q", pos[0])
	}
	reps := probeDevices()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, r := range reps {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintf(stdout, "GOMAXPROCS %d, %s/%s\n", runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)
	for _, r := range reps {
		if !r.Available {
			fmt.Fprintf(stdout, "\n%s: unavailable: %s\n", r.Backend, r.Reason)
			continue
		}
		fmt.Fprintf(stdout, "\n%s: %s\n  kind:   %s\n  driver: %s\n", r.Backend, r.Name, r.Kind, r.Driver)
		if len(r.Caps) > 0 {
			fmt.Fprintf(stdout, "  caps:   %s\n", formatCaps(r.Caps))
		}
	}
	return nil
}

// formatCaps lists capabilities as "k=v" sorted by key.
func formatCaps(caps map[string]string) string {
	keys := make([]string, 0, len(caps))
	for k := range caps {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + caps[k]
	}
	return strings.Join(parts, " ")
}
