//go:build cgo

package glrt

const cgoEnabled = true
