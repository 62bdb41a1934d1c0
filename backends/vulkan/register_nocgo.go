//go:build !cgo

package vulkan

import (
	"fmt"

	"github.com/qgpu/qgpu/engine/backend"
)

func init() {
	backend.Register("vulkan", 30, func(backend.Options) (backend.Backend, error) {
		return nil, fmt.Errorf("vulkan: built without cgo: %w", backend.ErrUnavailable)
	})
}
