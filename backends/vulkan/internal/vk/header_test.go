package vk

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The package declares what it uses of Vulkan in vulkan_decl.h so that it
// builds without the Vulkan headers. TestDeclarationsMatchVulkan checks
// every declaration against the system's <vulkan/vulkan.h> where that is
// installed (make test installs libvulkan-dev; with QGPU_REQUIRE=vulkan a
// missing header fails the test instead of skipping it):
//
//   - each struct's size and alignment and each field's offset and size,
//     the size of every handle, enum and flags type, and the value of every
//     constant, computed by one C program compiled once against each header
//     and compared line by line;
//   - each function pointer type, whose parameter and result types must be
//     the system's (__builtin_types_compatible_p, with our declaration's
//     text compiled against the system's types).

// declFile is the package's own header.
const declFile = "vulkan_decl.h"

// vulkanDecls are the declarations parsed from vulkan_decl.h.
type vulkanDecls struct {
	structs   []declStruct
	scalars   []string // handles, enums, flags and basic typedefs: sizeof checked
	constants []string // #define and enum constants: values checked
	pfns      map[string]string
}

type declStruct struct {
	name   string
	fields []string
}

func parseDecls(t *testing.T, src string) vulkanDecls {
	t.Helper()
	var d vulkanDecls
	field := regexp.MustCompile(`^\t[^;]*?\b(\w+)(\[[^\]]*\])?;$`)
	for _, m := range regexp.MustCompile(`(?ms)^typedef struct (\w+) \{\n(.*?)\n\} (\w+);$`).FindAllStringSubmatch(src, -1) {
		s := declStruct{name: m[1]}
		for _, l := range strings.Split(m[2], "\n") {
			f := field.FindStringSubmatch(l)
			if f == nil {
				t.Fatalf("%s: field line %q not understood", m[1], l)
			}
			s.fields = append(s.fields, f[1])
		}
		d.structs = append(d.structs, s)
	}
	for _, m := range regexp.MustCompile(`(?m)^QVK_(?:NON_)?DISPATCHABLE\((\w+)\)$|^typedef (?:VkFlags|uint32_t|uint64_t) (\w+);$|^typedef enum (\w+) \{$`).FindAllStringSubmatch(src, -1) {
		d.scalars = append(d.scalars, m[1]+m[2]+m[3])
	}
	for _, m := range regexp.MustCompile(`(?m)^\t(VK_\w+) = [^,\n]+,?$|^#define (VK_[A-Z0-9_]+) `).FindAllStringSubmatch(src, -1) {
		if n := m[1] + m[2]; n != "VK_NULL_HANDLE" {
			d.constants = append(d.constants, n)
		}
	}
	d.pfns = map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^typedef .*\(VKAPI_PTR \*(PFN_vk\w+)\)\(.*\);$`).FindAllStringSubmatch(src, -1) {
		d.pfns[m[1]] = m[0]
	}
	return d
}

// layoutProgram prints, one per line, the layout facts of every
// declaration: compiled with -DQCHK_OURS it includes vulkan_decl.h, else
// the system's header.
func layoutProgram(d vulkanDecls) string {
	var b strings.Builder
	b.WriteString("#include <stdio.h>\n#include <stddef.h>\n#ifdef QCHK_OURS\n#include \"" + declFile + "\"\n#else\n#define VK_NO_PROTOTYPES\n#include <vulkan/vulkan.h>\n#endif\nint main(void) {\n")
	for _, s := range d.structs {
		fmt.Fprintf(&b, "\tprintf(\"%s size %%zu align %%zu\\n\", sizeof(%s), _Alignof(%s));\n", s.name, s.name, s.name)
		for _, f := range s.fields {
			fmt.Fprintf(&b, "\tprintf(\"%s.%s offset %%zu size %%zu\\n\", offsetof(%s, %s), sizeof(((%s *)0)->%s));\n", s.name, f, s.name, f, s.name, f)
		}
	}
	for _, s := range d.scalars {
		fmt.Fprintf(&b, "\tprintf(\"%s size %%zu\\n\", sizeof(%s));\n", s, s)
	}
	for _, c := range d.constants {
		fmt.Fprintf(&b, "\tprintf(\"%s = %%lld\\n\", (long long)(%s));\n", c, c)
	}
	b.WriteString("\treturn 0;\n}\n")
	return b.String()
}

// pfnProgram declares our function pointer types against the system's
// types and asserts each compatible with the system's own.
func pfnProgram(d vulkanDecls) string {
	var b strings.Builder
	b.WriteString("#define VK_NO_PROTOTYPES\n#include <vulkan/vulkan.h>\n")
	for name, decl := range d.pfns {
		fmt.Fprintf(&b, "%s\n_Static_assert(__builtin_types_compatible_p(QCHK_%s, %s), \"%s differs from the system's\");\n",
			strings.Replace(decl, "*"+name+")", "*QCHK_"+name+")", 1), name, name, name)
	}
	return b.String()
}

// cc returns the C compiler, or skips the test.
func cc(t *testing.T) string {
	t.Helper()
	name := os.Getenv("CC")
	if name == "" {
		name = "gcc"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("no C compiler (%s): %v", name, err)
	}
	return p
}

func TestDeclarationsMatchVulkan(t *testing.T) {
	compiler := cc(t)
	dir := t.TempDir()
	probe := filepath.Join(dir, "probe.c")
	os.WriteFile(probe, []byte("#define VK_NO_PROTOTYPES\n#include <vulkan/vulkan.h>\n"), 0o644)
	if out, err := exec.Command(compiler, "-fsyntax-only", probe).CombinedOutput(); err != nil {
		if strings.Contains(os.Getenv("QGPU_REQUIRE"), "vulkan") {
			t.Fatalf("QGPU_REQUIRE=vulkan but <vulkan/vulkan.h> is missing (apt-get install libvulkan-dev): %s", out)
		}
		t.Skipf("no <vulkan/vulkan.h> to compare with (libvulkan-dev): %s", out)
	}
	src, err := os.ReadFile(declFile)
	if err != nil {
		t.Fatal(err)
	}
	d := parseDecls(t, string(src))
	if len(d.structs) < 50 || len(d.pfns) < 65 || len(d.constants) < 60 || len(d.scalars) < 60 {
		t.Fatalf("parsed %d structs, %d function pointer types, %d constants, %d scalar types: the parser missed declarations",
			len(d.structs), len(d.pfns), len(d.constants), len(d.scalars))
	}
	here, _ := os.Getwd()
	run := func(ours bool) []string {
		c := filepath.Join(dir, "layout.c")
		os.WriteFile(c, []byte(layoutProgram(d)), 0o644)
		bin := filepath.Join(dir, fmt.Sprintf("layout%v", ours))
		args := []string{"-std=gnu11", "-o", bin, c}
		if ours {
			args = append(args, "-DQCHK_OURS", "-I", here)
		}
		if out, err := exec.Command(compiler, args...).CombinedOutput(); err != nil {
			t.Fatalf("compiling the layout program (ours %v): %v\n%s", ours, err, out)
		}
		out, err := exec.Command(bin).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSpace(string(out)), "\n")
	}
	ours, sys := run(true), run(false)
	if len(ours) != len(sys) {
		t.Fatalf("%d layout lines against the system's %d", len(ours), len(sys))
	}
	for i := range ours {
		if ours[i] != sys[i] {
			t.Errorf("vulkan_decl.h: %s; <vulkan/vulkan.h>: %s", ours[i], sys[i])
		}
	}
	pc := filepath.Join(dir, "pfn.c")
	os.WriteFile(pc, []byte(pfnProgram(d)), 0o644)
	if out, err := exec.Command(compiler, "-std=gnu11", "-fsyntax-only", pc).CombinedOutput(); err != nil {
		t.Errorf("function pointer types: %v\n%s", err, out)
	}
	t.Logf("checked %d structs (%d layout facts), %d scalar types, %d constants, %d function pointer types",
		len(d.structs), len(ours), len(d.scalars), len(d.constants), len(d.pfns))
}
