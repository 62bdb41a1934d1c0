// Package calib chooses quantization parameters from float32 data
// (docs/semantics.md section 5): observers that see batches and produce
// parameters, PyTorch's rules to turn a range into a scale and zero point,
// range searches on histograms, SQNR to measure the result, and the int32
// bias of a quantized Gemm or Conv.
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
// # Observers and methods
//
// Every observer implements Observer: Observe(ctx, batch, shape) and
// Params(target); the per-tensor ones are also RangeObservers (Range).
// Methods lists the calibration methods once, with their names, aliases
// (ONNX Runtime's entropy for kl, ...) and descriptions; ParseMethod reads
// a name (suggesting the nearest one for a typo) and NewObserver builds the
// observer of a method.
//
//   - MinMaxObserver (minmax): running min and max.
//   - MovingAverageMinMaxObserver (moving-average): moving average of the
//     batch min and max, in float32.
//   - PerChannelMinMaxObserver: per-channel min/max along any axis, or its
//     moving average.
//   - TorchHistogramObserver (torch-histogram): PyTorch's HistogramObserver
//     with torch's own histogram, re-binned as the range grows, and its
//     greedy search; order-dependent and not mergeable.
//   - HistogramObserver: an exactly mergeable Histogram plus a range search
//     (percentile, l2-greedy, l2, l1, kl). The L2, L1 and greedy searches
//     never end worse than min-max by their own error.
//
// # Which methods are PyTorch-identical
//
// These give the scale and zero point of the PyTorch observer bit for bit
// when fed the same batches (float32 bits of the scale, the zero point),
// checked against fixtures recorded from torch:
//
//   - QParams: _calculate_qparams.
//   - MinMaxObserver: torch.ao.quantization.MinMaxObserver.
//   - MovingAverageMinMaxObserver: MovingAverageMinMaxObserver (any
//     averaging constant).
//   - PerChannelMinMaxObserver: PerChannelMinMaxObserver, and with
//     Averaging MovingAveragePerChannelMinMaxObserver.
//   - TorchHistogramObserver: HistogramObserver, by default torch 1.13's
//     with pytorch#83672 fixed as torch 2.0 fixed it, or 1.13 as released
//     (Torch113); see its documentation for the torch versions and CPU
//     vector widths covered. The fixtures include its histogram state.
//
// The other methods are not: percentile, l1 and kl have no torch
// counterpart, and l2-greedy runs torch's greedy walk on this package's
// histogram, whose bins differ from torch's. These fixtures come from torch
// 1.13 (Debian 12), plus the one-line pytorch#83755 change applied in the
// generator for HistogramObserver.
//
// Unlike PyTorch, NaN and ±Inf never reach a range: they are skipped and
// counted (RangeStats). An observer that has seen no finite value returns
// an error wrapping ErrNoData.
//
// # Bias
//
// QuantizeBias turns a float32 bias into the int32 bias for given input
// and weight scales (per tensor or per channel) with ONNX Runtime's rule,
// an error where ORT would clip to int32.
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
// runs (split over goroutines for large inputs). TorchHistogramObserver
// does its own passes on the host, as torch does.
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
