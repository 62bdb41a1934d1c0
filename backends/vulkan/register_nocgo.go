//go:build !cgo

package vulkan

import (
	"fmt"

	"github.com/qgpu/qgpu/engine"
)

func init() {
	engine.Register("vulkan", 30, func(engine.Options) (engine.Backend, error) {
		return nil, fmt.Errorf("vulkan: built without cgo: %w", engine.ErrUnavailable)
	})
}
