// Package qbeam runs qgpu's calibration as Apache Beam pipelines (Go SDK),
// for calibration sets and tensor dumps that outgrow one machine. Two
// pipelines:
//
//   - Model quantization (PrepareModel, QuantizeModel; or Calibrate and
//     WriteModel to compose): shards of .npy batches go to the workers;
//     a DoFn runs the float ONNX model over its shard with qgpu's
//     reference interpreter (model/quantize's Calibration.Observe) and
//     emits the shard's per-tensor observer state - running min/max, or
//     calib's exactly mergeable histograms - encoded with
//     Calibration.MarshalBinary; a CombineFn (CreateAccumulator, AddInput,
//     MergeAccumulators, ExtractOutput) merges the states with
//     Calibration.Merge; a last DoFn quantizes the model and writes the
//     QDQ model and the calibration table.
//   - Tensors (PrepareTensors, CalibrateTensorFiles; or CalibrateTensors
//     and WriteTensorTable): each .npy file of a tensor is read a block of
//     rows at a time into per-channel state (min/max or one histogram per
//     channel), merged per tensor by a CombinePerKey, and the tensor's
//     range, scale and zero point computed - what `qgpu calibrate` gives
//     the same files.
//
// # Exactness
//
// The merges are exact, associative and commutative: min and max, and
// histograms on a canonical power-of-two grid that merge bin for bin
// (calib.Histogram). So Beam may lift the combines - each worker merges
// the shards of its bundles into a partial accumulator, which crosses the
// shuffle through the accumulator's coder (the calibration's binary
// encoding, built on calib.Histogram's) and is merged again in any
// grouping and order - and a runner may retry a failed bundle (its
// output is discarded and recomputed; the DoFns are deterministic and
// side-effect free, and the outputs are written once, at the end,
// atomically for local paths): the QDQ model and the table are byte for
// byte those of `qgpu model quantize` over the whole set in one process,
// whatever the number of shards, their order and the runner. The methods
// whose state depends on the order of the batches (moving-average,
// torch-histogram) are refused.
//
// # Runners and files
//
// The commands (cmd/beam-quantize, cmd/beam-calibrate) run on Prism, the
// Go SDK's embedded runner, by default: in the process, no services. The
// same binaries run on Flink, Spark (portable job servers) or Dataflow
// with Beam's runner flags. Prism does not retry a failed bundle: the job
// fails with the worker's error (qbeam's part of it: Cause). Paths are
// read and written through Beam's file systems: plain paths, and gs://
// where the gcs file system is linked in (the commands link it); on a
// cluster they must be readable by every worker. Remote .npy shards are
// copied to a temporary file on the worker before they are read.
package qbeam
