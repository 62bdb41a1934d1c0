// Package cli holds what the commands of the Beam module share: a
// repeatable string flag and the run of a pipeline with its summary.
package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
)

// StringList is a repeatable string flag.
type StringList []string

func (s *StringList) String() string { return strings.Join(*s, " ") }

// Set implements flag.Value.
func (s *StringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// Run runs the pipeline on the runner of the --runner flag (Prism when
// none is given) and prints the qbeam counters the runner reports, one
// line.
func Run(ctx context.Context, p *beam.Pipeline, stdout io.Writer) error {
	res, err := beamx.RunWithMetrics(ctx, p)
	if err != nil {
		return err
	}
	if res == nil {
		return nil
	}
	counters := map[string]int64{}
	for _, c := range res.Metrics().AllMetrics().Counters() {
		if c.Key.Namespace == "qbeam" {
			counters[c.Key.Name] += c.Result()
		}
	}
	var names []string
	for n := range counters {
		names = append(names, n)
	}
	slices.Sort(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %d", strings.ReplaceAll(n, "_", " "), counters[n]))
	}
	if len(parts) > 0 {
		fmt.Fprintf(stdout, "counters: %s\n", strings.Join(parts, ", "))
	}
	return nil
}

// QuietPrism silences the log of the embedded Prism runner (its job
// states, and a failed bundle's plan three times over), unless verbose:
// the commands print the failure's cause themselves. Other runners keep
// their log (job IDs, monitoring URLs).
func QuietPrism(verbose bool) {
	if verbose || (*runners.Runner != "" && *runners.Runner != "prism") {
		return
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError + 4})))
}
