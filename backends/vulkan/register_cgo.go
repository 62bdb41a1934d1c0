//go:build cgo

package vulkan

import "github.com/qgpu/qgpu/engine/backend"

func init() {
	backend.Register("vulkan", 30, func(o backend.Options) (backend.Backend, error) { return Open(o) })
}
