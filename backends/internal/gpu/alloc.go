package gpu

import (
	"fmt"

	"github.com/qgpu/qgpu/engine/backend"
)

// MaxAlloc bounds one buffer allocation of a GPU backend, so absurd sizes
// fail cleanly instead of reaching the driver.
const MaxAlloc = 1 << 40

// CheckAlloc validates the size of a buffer allocation for the backend
// named api: negative is ErrShape, over MaxAlloc both ErrOutOfMemory and
// ErrShape.
func CheckAlloc(api string, size int) error {
	if size < 0 {
		return fmt.Errorf("%s: alloc %d bytes: %w", api, size, backend.ErrShape)
	}
	if size > MaxAlloc {
		// Beyond the limit the shape is the problem, not the device.
		return fmt.Errorf("%s: alloc %d bytes: %w (%w: over the %d-byte limit of one buffer)", api, size, backend.ErrOutOfMemory, backend.ErrShape, int64(MaxAlloc))
	}
	return nil
}
