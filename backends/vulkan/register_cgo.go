//go:build cgo

package vulkan

import "github.com/qgpu/qgpu/engine"

func init() {
	engine.Register("vulkan", 30, func(o engine.Options) (engine.Backend, error) { return Open(o) })
}
