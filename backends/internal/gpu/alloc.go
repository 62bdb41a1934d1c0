package gpu

import (
	"fmt"

	"github.com/qgpu/qgpu/engine/backend"
)

// MaxAlloc bounds one buffer allocation of a GPU backend, so absurd sizes
// fail cleanly instead of reaching the driver.
const MaxAlloc = 1 << 40

// CheckAlloc validates the size of a buffer allocation for the backend
// named api: negative is ErrShape, over MaxAlloc ErrOutOfMemory.
func CheckAlloc(api string, size int) error {
	if size < 0 {
		return fmt.Errorf("%s: alloc %d bytes: %w", api, size, backend.ErrShape)
	}
	if size > MaxAlloc {
		return fmt.Errorf("%s: alloc %d bytes: %w", api, size, backend.ErrOutOfMemory)
	}
	return nil
}
