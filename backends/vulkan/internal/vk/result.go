package vk

import (
	"errors"
	"fmt"
	"os"
)

// Result is a VkResult. Negative values are errors; positive values are
// non-error status codes (VK_TIMEOUT, VK_NOT_READY, VK_INCOMPLETE, ...).
type Result int32

// VkResult values (the subset a compute program can see).
const (
	Success                          Result = 0
	NotReady                         Result = 1
	Timeout                          Result = 2
	EventSet                         Result = 3
	EventReset                       Result = 4
	Incomplete                       Result = 5
	ErrorOutOfHostMemory             Result = -1
	ErrorOutOfDeviceMemory           Result = -2
	ErrorInitializationFailed        Result = -3
	ErrorDeviceLost                  Result = -4
	ErrorMemoryMapFailed             Result = -5
	ErrorLayerNotPresent             Result = -6
	ErrorExtensionNotPresent         Result = -7
	ErrorFeatureNotPresent           Result = -8
	ErrorIncompatibleDriver          Result = -9
	ErrorTooManyObjects              Result = -10
	ErrorFormatNotSupported          Result = -11
	ErrorFragmentedPool              Result = -12
	ErrorUnknown                     Result = -13
	ErrorOutOfPoolMemory             Result = -1000069000
	ErrorInvalidExternalHandle       Result = -1000072003
	ErrorFragmentation               Result = -1000161000
	ErrorInvalidOpaqueCaptureAddress Result = -1000257000
	PipelineCompileRequired          Result = 1000297000
	ErrorValidationFailed            Result = -1000011001
)

var resultNames = map[Result]string{
	Success:                          "VK_SUCCESS",
	NotReady:                         "VK_NOT_READY",
	Timeout:                          "VK_TIMEOUT",
	EventSet:                         "VK_EVENT_SET",
	EventReset:                       "VK_EVENT_RESET",
	Incomplete:                       "VK_INCOMPLETE",
	ErrorOutOfHostMemory:             "VK_ERROR_OUT_OF_HOST_MEMORY",
	ErrorOutOfDeviceMemory:           "VK_ERROR_OUT_OF_DEVICE_MEMORY",
	ErrorInitializationFailed:        "VK_ERROR_INITIALIZATION_FAILED",
	ErrorDeviceLost:                  "VK_ERROR_DEVICE_LOST",
	ErrorMemoryMapFailed:             "VK_ERROR_MEMORY_MAP_FAILED",
	ErrorLayerNotPresent:             "VK_ERROR_LAYER_NOT_PRESENT",
	ErrorExtensionNotPresent:         "VK_ERROR_EXTENSION_NOT_PRESENT",
	ErrorFeatureNotPresent:           "VK_ERROR_FEATURE_NOT_PRESENT",
	ErrorIncompatibleDriver:          "VK_ERROR_INCOMPATIBLE_DRIVER",
	ErrorTooManyObjects:              "VK_ERROR_TOO_MANY_OBJECTS",
	ErrorFormatNotSupported:          "VK_ERROR_FORMAT_NOT_SUPPORTED",
	ErrorFragmentedPool:              "VK_ERROR_FRAGMENTED_POOL",
	ErrorUnknown:                     "VK_ERROR_UNKNOWN",
	ErrorOutOfPoolMemory:             "VK_ERROR_OUT_OF_POOL_MEMORY",
	ErrorInvalidExternalHandle:       "VK_ERROR_INVALID_EXTERNAL_HANDLE",
	ErrorFragmentation:               "VK_ERROR_FRAGMENTATION",
	ErrorInvalidOpaqueCaptureAddress: "VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS",
	PipelineCompileRequired:          "VK_PIPELINE_COMPILE_REQUIRED",
	ErrorValidationFailed:            "VK_ERROR_VALIDATION_FAILED_EXT",
}

// String returns the Vulkan name of r, e.g. "VK_ERROR_OUT_OF_DEVICE_MEMORY".
func (r Result) String() string {
	if s, ok := resultNames[r]; ok {
		return s
	}
	return fmt.Sprintf("VkResult(%d)", int32(r))
}

// Error implements error; it is the same as String.
func (r Result) Error() string { return r.String() }

// IsOutOfMemory reports whether err wraps VK_ERROR_OUT_OF_HOST_MEMORY or
// VK_ERROR_OUT_OF_DEVICE_MEMORY (or a pool/fragmentation exhaustion).
func IsOutOfMemory(err error) bool {
	return errors.Is(err, ErrorOutOfDeviceMemory) || errors.Is(err, ErrorOutOfHostMemory) ||
		errors.Is(err, ErrorOutOfPoolMemory) || errors.Is(err, ErrorFragmentedPool) ||
		errors.Is(err, ErrorFragmentation) || errors.Is(err, ErrorTooManyObjects)
}

// IsDeviceLost reports whether err wraps VK_ERROR_DEVICE_LOST.
func IsDeviceLost(err error) bool { return errors.Is(err, ErrorDeviceLost) }

// CallError is the error returned when a Vulkan function fails. It names the
// function and wraps the Result.
type CallError struct {
	Func   string // e.g. "vkCreateBuffer"
	Result Result
}

func (e *CallError) Error() string { return "vulkan: " + e.Func + ": " + e.Result.String() }

// Unwrap returns the Result, so errors.Is(err, vk.ErrorDeviceLost) works.
func (e *CallError) Unwrap() error { return e.Result }

// check turns a VkResult into nil (VK_SUCCESS) or a *CallError.
func check(fn string, r Result) error {
	if r == Success {
		return nil
	}
	return &CallError{Func: fn, Result: r}
}

// ErrNoCgo is returned by every function when the package was built without
// cgo (CGO_ENABLED=0).
var ErrNoCgo = errors.New("vulkan: unavailable: built without cgo")

// LoaderError reports that the Vulkan loader library could not be opened or
// lacks vkGetInstanceProcAddr.
type LoaderError struct {
	Library string // the name passed to dlopen
	Reason  string // dlerror() text
}

func (e *LoaderError) Error() string {
	return "vulkan: dlopen " + e.Library + ": " + e.Reason
}

// withICD annotates an error with the ICD selection environment, which is
// the usual reason for "no device" on machines without a GPU.
func withICD(err error) error {
	return fmt.Errorf("%w (%s)", err, ICDEnv())
}

// ICDEnv describes the loader's ICD selection environment variables.
func ICDEnv() string {
	s := "VK_ICD_FILENAMES=" + os.Getenv("VK_ICD_FILENAMES")
	if v, ok := os.LookupEnv("VK_DRIVER_FILES"); ok {
		s += " VK_DRIVER_FILES=" + v
	}
	return s
}
