// Package tests is qgpu's cross-backend conformance suite, an importable
// package in the manner of gonum's testblas.
//
// Every case generates its inputs from a fixed seed, uploads them to a
// reference engine (the CPU backend's generic kernels, see Reference) and
// to the target engine, records the same op through the Batch API on both,
// runs, downloads and compares the outputs bit for bit. The target runs
// with guard bytes around every tensor, so an out-of-bounds write fails the
// case, and every input is downloaded again afterwards, so a kernel that
// writes its inputs fails too.
//
// The only tolerance is declared per case (Case.FlushDenormTolerance) and
// applies only on devices that report flushing float denormals (see
// FlushesDenormals), as docs/semantics.md section 6 allows.
//
// A backend's own tests call Run:
//
//	func TestConformance(t *testing.T) {
//		tests.Run(t, engine.Config{Backend: "vulkan"})
//	}
//
// and the CLI calls Conformance, which returns the per-case results as a
// Report, to print an op x backend matrix. The package does not import
// testing (Run takes the *testing.T through the Tester constraint), so the
// qgpu binary does not link it.
// Unsupported ops are reported as unsupported, not failed, and an
// unavailable backend is skipped, unless the environment variable
// QGPU_REQUIRE names the backend (comma-separated, e.g.
// QGPU_REQUIRE=vulkan,opengl): then both are failures.
package tests
