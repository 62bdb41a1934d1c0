// Package backend is the contract between qgpu's engine and its compute
// backends (CPU, Vulkan, OpenGL), the way database/sql/driver is for
// database/sql: programs use package engine; backends implement Backend
// and Buffer, receive ops as the value types of this package, and register
// themselves with Register from init.
//
// The engine validates every op before a backend sees it, so a backend may
// assume consistent operands; each op type documents exactly what it
// computes in terms of the scalar formulas of package qtensor, and
// docs/semantics.md states the same rules in prose. The operands are
// Tensor descriptors whose buffers the engine keeps alive until every Run
// that reads or writes them has returned.
package backend
