// Package quantize is qgpu's post-training quantizer for whole ONNX
// models: it calibrates a float model on batches streamed from an
// iterator and writes a standard QDQ model, and it measures the error of
// a QDQ model against its float model, tensor by tensor.
//
//	q, err := quantize.New(floatModel, quantize.Options{Method: calib.MethodPercentile, PerChannel: true})
//	c, err := q.Calibrate(ctx, batches)  // iter.Seq2[quantize.Batch, error]
//	res, err := q.Quantize(c)            // res.Model: the QDQ model; res.Tensors: every parameter
//	rep, err := quantize.Compare(ctx, floatModel, res.Model, evalBatches, quantize.CompareOptions{})
//
// (QuantizeModel does the first three in one call; NPYBatches streams
// batches from .npy files; `qgpu model quantize` and `qgpu model compare`
// are the command-line form.)
//
// # What is quantized
//
// New marks the tensors to quantize with ONNX Runtime's QDQ quantizer rules
// (quantize_static with quant_format=QDQ; its operators/*.py), from the
// model alone, before any data:
//
//   - Conv, ConvTranspose, Gemm: input 0 and output 0 are activations,
//     input 1 a weight (per channel on axis 0; 1 for ConvTranspose; Gemm:
//     0 with transB, else 1), input 2 an int32 bias. MatMul: constant
//     inputs are weights (per channel on their last axis), the others
//     activations.
//   - Relu and Clip after a quantized tensor: with asymmetric activations
//     the node is removed and its producer writes its output, when that
//     output has no other reader and is not a graph input or output; the
//     Q of the output, calibrated on the Relu's output (minimum 0: zero
//     point qmin), does the clamping. Otherwise both sides are
//     activations, and the input takes the output's range when the node is
//     its only reader.
//   - MaxPool, AveragePool, Reshape, Transpose, Squeeze, Unsqueeze, Slice,
//     Resize: the output shares the input's parameters, if the input is
//     quantized. Split: the outputs share the input's. Pad, Gather, Where
//     and the normalisations follow ONNX Runtime's rules too.
//   - Every other op of Options.OpTypes (ONNX Runtime's list by default:
//     DefaultOpTypes): every float input and output is an activation; a
//     float initializer read as an activation (an Add's constant operand)
//     is stored quantized like an activation (a Constant).
//   - Softmax outputs get the range [0, 1].
//
// Nodes of other op types, and Options.Exclude, stay in float; they read
// and write float values, between a DQ and a Q where their neighbours are
// quantized.
//
// # Calibration
//
// Calibrate (or Calibration.Observe, one batch at a time) runs the float
// model with the reference interpreter (package interp) and streams every
// activation the plan needs into an observer of Options.Method: minmax,
// moving-average, torch-histogram (PyTorch's HistogramObserver bit for
// bit), or one of the histogram searches on calib's exactly mergeable
// histogram (percentile, l2-greedy, l2, l1, kl - calib.Methods lists
// them). The interpreter drops each value after its last reader, so memory
// is one batch's live activations plus the observers - bins x tensors,
// whatever the amount of data. Weights and constants are calibrated from
// their exact minimum and maximum.
//
// Parameters come from calib.QParams (PyTorch's rules) for
// Options.ActivationTarget and Options.WeightTarget, exactly what
// `qgpu calibrate` gives the same tensor's data with the same method,
// type and scheme (uint8 affine, or symmetric over ONNX Runtime's
// symmetric ranges int8 [-127, 127] and uint8 [0, 254]; weights int8
// symmetric [-127, 127], or [-64, 64] with ReduceRange). Weights are
// quantized with qtensor.Quantize (float32 division, half to even), biases
// with calib.QuantizeBias (ONNX Runtime's quantize_bias_static).
//
// # Determinism
//
// For every method but moving-average and torch-histogram, the QDQ model
// is byte-identical whatever the batch boundaries, the number of
// interpreter workers, the calib.Reducer running the min/max and histogram
// passes (the host, or any engine backend through engine.Engine.Reducer),
// and the split of the data into shards calibrated separately (even in
// other processes: Calibration.MarshalBinary, Quantizer.UnmarshalCalibration)
// and combined with Calibration.Merge in any order. Moving-average and
// torch-histogram depend on the batches by definition (and cannot be
// merged); the same batches in the same order give the same model.
//
// # The QDQ model
//
// The model keeps every float node and adds, with ONNX Runtime's names
// (so that tools reading its output read this one): for an activation t
// the initializers t_scale and t_zero_point, QuantizeLinear
// t_QuantizeLinear and DequantizeLinear t_DequantizeLinear, whose output
// t_DequantizeLinear_Output replaces t for every reader (a graph output
// keeps its name on the DQ; its producer writes t_QuantizeLinear_Input);
// for a weight w, the int8 initializer w_quantized with w_scale and
// w_zero_point and one DequantizeLinear (axis for per-channel); for a bias
// b, the int32 b_quantized with b_quantized_scale (input scale x weight
// scale, shape [1] or [C]) and b_quantized_zero_point, read by a
// DequantizeLinear that writes b. ONNX Runtime runs it (fusing the
// patterns into QLinearConv and friends) and so does package model,
// qgpu's runtime, which lowers it onto the engine.
//
// # Where qgpu differs from ONNX Runtime's quantizer, and why
//
//   - Scale and zero point follow PyTorch's float32 rule (calib.QParams)
//     rather than ORT's compute_scale_zp (float64, rounded once), so that a
//     tensor gets the same parameters from `qgpu calibrate`, from this
//     package and from PyTorch's observers. The two differ by at most a few
//     ulps of the scale (4 on the Fashion-MNIST test model, calibration in
//     float32 included) and never otherwise.
//   - Calibration streams: ORT adds every calibrated tensor to the model's
//     outputs and keeps them for every batch (its histogram methods need
//     all of them: onnxruntime#10503, #11020); qgpu's memory does not grow
//     with the data, and its histograms merge exactly.
//   - The histogram methods (percentile, kl, l2, ...) search calib's
//     histogram, not ORT's numpy histograms: kl is ORT's entropy
//     calibration on another histogram, percentile keeps (1-p)/2 of the mass
//     on each side of an affine range; results are close to ORT's, not
//     identical. ORT's distribution method has no counterpart.
//   - A Gemm's beta: ORT quantizes the bias with the scale input x weight x
//     beta and sets beta to 1, so the model adds C instead of beta·C; qgpu
//     folds beta into the bias values (float32 product) before quantizing
//     with input x weight, and sets beta to 1.
//   - A tensor with the range [0, 0] gets PyTorch's smallest scale 2^-23
//     (ORT: 1.0). A bias that does not fit int32 even after the weight
//     scale is raised (as ORT raises it) stays float, with a note in
//     Result.Notes (ORT clips it and logs a warning).
//   - Values that package graph folds into constants (Constant nodes,
//     initializer-only subgraphs) are quantized from their exact values
//     instead of being calibrated.
//   - No ORT pre-processing (quant_pre_process, symbolic shape
//     inference): types come from package graph; value_info is dropped and
//     re-inferred by readers. Not supported: 16-bit and 4-bit types,
//     tensor overrides, nodes_to_quantize (Exclude is), dedicated QDQ
//     pairs, QOperator output, subgraphs.
//
// # Error report
//
// Compare runs a float model and a QDQ model (this package's or any
// tool's with ONNX Runtime's structure) on the same batches with the
// interpreter, whose QuantizeLinear and DequantizeLinear compute qgpu's
// exact formulas, and reports for every quantized tensor the SQNR of the
// QDQ model's value against the float model's (errors of earlier layers
// included), the SQNR of the float value quantized alone with the tensor's
// parameters (the error the tensor adds by itself), the fraction of values
// clipped and the range represented, worst first; for every output the
// SQNR and the top-1 agreement.
//
// Errors wrap ErrShape, ErrParams and ErrUnsupported (qgpu's sentinels),
// calib.ErrNoData (a calibration without data for a tensor) and ErrFormat
// (a corrupt serialized calibration).
package quantize
