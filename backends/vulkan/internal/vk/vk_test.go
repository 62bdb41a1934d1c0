//go:build cgo

package vk

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestLoadMissingLibrary(t *testing.T) {
	const name = "libvulkan-qgpu-does-not-exist.so.1"
	err := load(name)
	var le *LoaderError
	if !errors.As(err, &le) {
		t.Fatalf("load(%q) = %v, want *LoaderError", name, err)
	}
	if !strings.Contains(err.Error(), "vulkan: dlopen "+name) || !strings.Contains(err.Error(), "cannot open shared object file") {
		t.Errorf("error %q does not name the library and the reason", err)
	}
}

func TestResultErrors(t *testing.T) {
	cases := []struct {
		r         Result
		name      string
		oom, lost bool
	}{
		{ErrorOutOfDeviceMemory, "VK_ERROR_OUT_OF_DEVICE_MEMORY", true, false},
		{ErrorOutOfHostMemory, "VK_ERROR_OUT_OF_HOST_MEMORY", true, false},
		{ErrorDeviceLost, "VK_ERROR_DEVICE_LOST", false, true},
		{ErrorIncompatibleDriver, "VK_ERROR_INCOMPATIBLE_DRIVER", false, false},
		{Result(-424242), "VkResult(-424242)", false, false},
	}
	for _, c := range cases {
		err := check("vkFoo", c.r)
		if got := err.Error(); got != "vulkan: vkFoo: "+c.name {
			t.Errorf("%d: Error() = %q", c.r, got)
		}
		if !errors.Is(err, c.r) {
			t.Errorf("%s: errors.Is(err, r) = false", c.name)
		}
		if IsOutOfMemory(err) != c.oom || IsDeviceLost(err) != c.lost {
			t.Errorf("%s: IsOutOfMemory=%v IsDeviceLost=%v", c.name, IsOutOfMemory(err), IsDeviceLost(err))
		}
	}
	if check("vkFoo", Success) != nil {
		t.Error("check(Success) != nil")
	}
}

// TestInstance creates an instance with whatever ICDs the environment
// selects and lists the devices; it skips when there is no loader or device
// unless QGPU_REQUIRE=vulkan.
func TestInstance(t *testing.T) {
	skip := t.Skipf
	if os.Getenv("QGPU_REQUIRE") == "vulkan" {
		skip = t.Fatalf
	}
	if err := Init(); err != nil {
		skip("no loader: %v", err)
	}
	v := InstanceVersion()
	if v < MakeVersion(1, 0, 0) {
		t.Fatalf("InstanceVersion = %s", VersionString(v))
	}
	exts, err := InstanceExtensions()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loader %s, %d instance extensions", VersionString(v), len(exts))
	if v > MakeVersion(1, 3, 0) {
		v = MakeVersion(1, 3, 0)
	}
	in, err := CreateInstance("vk-test", v, nil, nil)
	if err != nil {
		skip("%v", err)
	}
	defer in.Destroy()
	pds, err := in.PhysicalDevices()
	if err != nil {
		t.Fatal(err)
	}
	if len(pds) == 0 {
		skip("no physical devices (%s)", ICDEnv())
	}
	for _, pd := range pds {
		p := pd.Properties(ChainSubgroup | ChainDriver)
		if p.Name == "" || p.Limits.MaxComputeWorkGroupInvocations < 128 {
			t.Errorf("implausible properties %+v", p)
		}
		qf := pd.QueueFamilies()
		mp := pd.MemoryProperties()
		if len(qf) == 0 || len(mp.Types) == 0 || len(mp.Heaps) == 0 {
			t.Errorf("%s: %d queue families, %d memory types, %d heaps", p.Name, len(qf), len(mp.Types), len(mp.Heaps))
		}
		de, err := pd.Extensions()
		if err != nil {
			t.Error(err)
		}
		t.Logf("%s (%s, %s %s) api %s, %d device extensions, queues %+v", p.Name, p.Type, p.DriverName, p.DriverInfo,
			VersionString(p.APIVersion), len(de), qf)
	}
	in.Destroy()
	in.Destroy() // twice is safe
}
