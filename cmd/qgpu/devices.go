package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"

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
capabilities), or the exact reason it is unavailable on this machine and
which packages provide what is missing.`, `
  qgpu devices
  qgpu devices --json | jq -r 'select(.available) | .backend'`, stdout)
	asJSON := fs.Bool("json", false, "print one JSON object per backend per line")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if err := noArgs("devices", pos); err != nil {
		return err
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
	width := lineWidth(stdout)
	for _, r := range reps {
		if !r.Available {
			fmt.Fprintf(stdout, "\n%s: unavailable:\n%s", r.Backend, wrapText("  ", r.Reason, width))
			continue
		}
		fmt.Fprintf(stdout, "\n%s: %s\n  kind:   %s\n  driver: %s\n", r.Backend, r.Name, r.Kind, r.Driver)
		if len(r.Caps) > 0 {
			writeCaps(stdout, "  caps:   ", r.Caps)
		}
	}
	return nil
}
