#!/usr/bin/python3
"""fashion_shards.py: writes a Fashion-MNIST calibration set for the Beam
pipeline's measurements (not committed data; the tests use the 64 images
of model/quantize/testdata/fashion):

    OUT/all.npy              the first N training images, float32 [N, 1, 28, 28],
                             normalised as train.py does: (x / 255 - 0.2860) / 0.3530
    OUT/shards/shard_K.npy   the same images in S contiguous shards

    /usr/bin/python3 fashion_shards.py --n 10000 --shards 8 --out /tmp/fashion
"""
import argparse
import gzip
import os

import numpy as np

DATA = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=DATA)
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--shards", type=int, default=8)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    with gzip.open(a.data, "rb") as f:
        raw = f.read()
    x = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)[: a.n]
    x = (x.astype(np.float32) / np.float32(255) - np.float32(0.2860)) / np.float32(0.3530)
    x = np.ascontiguousarray(x, dtype="<f4")
    os.makedirs(os.path.join(a.out, "shards"), exist_ok=True)
    np.save(os.path.join(a.out, "all.npy"), x)
    for k, part in enumerate(np.array_split(x, a.shards)):
        np.save(os.path.join(a.out, "shards", "shard_%02d.npy" % k), np.ascontiguousarray(part))


if __name__ == "__main__":
    main()
