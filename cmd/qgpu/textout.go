package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Text output shared by the commands: tables, wrapped lists, progress.

// defaultWidth is the line width of wrapped output when stdout is not a
// terminal and $COLUMNS is not set.
const defaultWidth = 100

// lineWidth is the width to wrap output written to w at: the terminal's
// (at least 40), else $COLUMNS, else defaultWidth.
func lineWidth(w io.Writer) int {
	if n := terminalWidth(w); n > 0 {
		return max(n, 40)
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return max(n, 40)
	}
	return defaultWidth
}

// wrapItems lays items out separated by two spaces in lines of at most
// width bytes, the first starting with prefix and the others indented as
// deep; an item longer than a line gets a line of its own.
func wrapItems(prefix string, items []string, width int) string {
	var b strings.Builder
	indent := strings.Repeat(" ", len(prefix))
	line := prefix
	empty := true
	for _, it := range items {
		if !empty && len(line)+2+len(it) > width {
			b.WriteString(strings.TrimRight(line, " ") + "\n")
			line, empty = indent, true
		}
		if !empty {
			line += "  "
		}
		line += it
		empty = false
	}
	b.WriteString(strings.TrimRight(line, " ") + "\n")
	return b.String()
}

// wrapText fills the words of s into lines of at most width bytes, each
// starting with indent.
func wrapText(indent, s string, width int) string {
	return wrapWords(indent, strings.Fields(s), width)
}

func wrapWords(indent string, words []string, width int) string {
	var b strings.Builder
	line := indent
	for _, w := range words {
		if len(line) > len(indent) && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += w
	}
	b.WriteString(line + "\n")
	return b.String()
}

// capItems lists capabilities as "k=v", sorted by key.
func capItems(caps map[string]string) []string {
	keys := make([]string, 0, len(caps))
	for k := range caps {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	items := make([]string, len(keys))
	for i, k := range keys {
		items[i] = k + "=" + caps[k]
	}
	return items
}

// writeCaps prints capabilities wrapped at the width of w, the first line
// starting with prefix.
func writeCaps(w io.Writer, prefix string, caps map[string]string) {
	fmt.Fprint(w, wrapItems(prefix, capItems(caps), lineWidth(w)))
}

// newTable returns a tabwriter for right-aligned columns; cells end with
// '\t'.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
}

// progress shows one status line on a terminal (stderr), redrawn at most
// ten times a second and cleared by done; on anything but a terminal it
// prints nothing.
type progress struct {
	w     io.Writer // nil: off
	last  time.Time
	shown bool
}

func newProgress(stderr io.Writer) *progress {
	if !isTerminal(stderr) {
		return &progress{}
	}
	return &progress{w: stderr}
}

// update redraws the line (unless the last redraw was under 100 ms ago
// and force is false).
func (p *progress) update(force bool, format string, args ...any) {
	if p == nil || p.w == nil || !force && time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.shown = true
	fmt.Fprintf(p.w, "\r\033[K%s", escapeControls(fmt.Sprintf(format, args...)))
}

// done clears the line.
func (p *progress) done() {
	if p != nil && p.w != nil && p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}
