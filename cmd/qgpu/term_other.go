//go:build !linux

package main

import "io"

// isTerminal reports false: progress lines are shown only on Linux terminals.
func isTerminal(io.Writer) bool { return false }
