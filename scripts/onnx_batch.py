#!/usr/bin/env python3
"""Writes an ONNX model with a static batch size: dimension 0 of every graph
input and output set to BATCH, and the inferred value_info dropped (it holds
the old batch size; ONNX Runtime and qgpu infer the shapes again).

    onnx_batch.py IN.onnx OUT.onnx BATCH

For the torchvision exports of scripts/models.sh, whose graphs do not depend
on the batch size (Flatten, not a Reshape to a constant shape): the same
network at batch BATCH, timed by bench/peers on qgpu and ONNX Runtime alike.
"""
import sys

import onnx


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    src, dst, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if batch < 1:
        sys.exit("onnx_batch: BATCH must be positive")
    m = onnx.load(src)
    inits = {t.name for t in m.graph.initializer}
    for v in list(m.graph.input) + list(m.graph.output):
        if v.name in inits:
            continue
        dims = v.type.tensor_type.shape.dim
        if not dims:
            sys.exit(f"onnx_batch: {v.name} has no shape")
        dims[0].Clear()
        dims[0].dim_value = batch
    del m.graph.value_info[:]
    onnx.checker.check_model(m)
    onnx.save(m, dst)


if __name__ == "__main__":
    main()
