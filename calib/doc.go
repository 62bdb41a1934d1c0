// Package calib chooses quantization parameters from float32 data
// (docs/semantics.md section 5): observers that see batches and produce a clipping
// range, PyTorch's rules to turn a range into a scale and zero point, range
// searches on histograms, and SQNR to measure the result.
//
// # Parameters from a range
//
// QParams follows PyTorch 1.13's
// UniformQuantizationObserverBase._calculate_qparams bit for bit (float32
// arithmetic, PyTorch's order of operations, round half to even, eps =
// 2^-23), for uint8, int8, uint4 and int4 targets, affine or symmetric, with
// PyTorch's reduce_range and custom quant_min/quant_max. The tests compare
// with fixtures recorded from torch (testdata/gen_torch.py).
//
// # Observers
//
//   - MinMaxObserver: running min and max (PyTorch's MinMaxObserver).
//   - MovingAverageMinMaxObserver: PyTorch's moving average, in float32.
//   - PerChannelMinMaxObserver: per-channel min/max along any axis, or its
//     moving average (PyTorch's PerChannelMinMaxObserver and
//     MovingAveragePerChannelMinMaxObserver).
//   - HistogramObserver: an exactly mergeable Histogram plus a range search
//     (Method): min/max, percentile, L2 (greedy and exhaustive), L1, KL.
//
// Unlike PyTorch, NaN and ±Inf never reach a range: they are skipped and
// counted (RangeStats). An observer that has seen no finite value returns
// an error wrapping ErrNoData.
//
// # Where the data passes run
//
// The two passes over the data, min/max and histogram counting, go
// through the Reducer interface. HostReducer is the pure-Go reference; the
// engine implements Reducer on its selected backend, and must return
// exactly the same results (the histogram bin of a value is
// qtensor.HistBinAligned, an exact integer function of the value). The host
// loops come in two versions with identical results: histSlice and
// minMaxSlice, the plain references, and the branch-free ones HostReducer
// runs (split over goroutines for large inputs).
//
// # Quality and reports
//
// SQNR measures 10·log10(Σx² / Σ(x - dequant(quant(x)))²) in dB with
// qtensor.Quantize and qtensor.Dequantize (per tensor, per axis or per
// block) over the finite values; an exact round trip gives +Inf. Calibrate
// bundles method, range, scale, zero point, SQNR and NaN/Inf counts in a
// Report, and WriteTable prints reports as a text table.
//
// # Exact merging
//
// A Histogram's bins are a window of a grid of width 2^k aligned at zero,
// and its state is a canonical function of the data seen (see Histogram).
// Histograms built on shards of a data set, in any order and any split,
// Merge into exactly the histogram built on all of it, so calibration can be
// split across machines; MarshalBinary/UnmarshalBinary carry a histogram
// between them.
package calib
