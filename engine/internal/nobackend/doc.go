// Package nobackend holds the tests of package engine in a program that
// links no backend (its test binary imports engine and nothing that
// registers one). It has no code of its own.
package nobackend
