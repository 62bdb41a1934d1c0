//go:build !linux

package main

import "io"

// isTerminal reports false: progress lines are shown only on Linux terminals.
func isTerminal(io.Writer) bool { return false }

// terminalWidth reports 0 (unknown).
func terminalWidth(io.Writer) int { return 0 }
