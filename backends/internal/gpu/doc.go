// Package gpu is everything the GPU backends share; each GPU API adds only
// its Runtime (device memory, compiled kernels, submission).
//
// The planner (PlanOp) turns each engine op into kernel launches of package
// shaders: a typed parameter block (shaders.Params), four storage-buffer
// bindings and a grid of work groups. Backend implements the engine's
// backend contract over a Runtime: the locking and closed state, the
// buffer pool, planning each op once per Run with every check Supports
// makes (binding sizes, Mesa's loop budget, kernel variants), the choice
// of kernel variants, the start-up self-tests (the quantize division and
// the denormal probe), error mapping onto the engine's sentinels and the
// capabilities common to every API. The Vulkan and OpenGL backends are a
// Runtime each plus opening their device.
package gpu
