#!/usr/bin/python3
"""gen_testdata.py: writes the small Fashion-MNIST samples the tests of
package quantize use (beside this script):

    calib_u8.npy   the first 64 training images, uint8 [64, 28, 28]

The tests normalise them exactly as train.py does, in float32:
(x / 255 - 0.2860) / 0.3530.

    /usr/bin/python3 gen_testdata.py [--data DIR]
"""
import argparse
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=train.DATA)
    a = p.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    x = train.read_idx(os.path.join(a.data, "train-images-idx3-ubyte.gz"))
    np.save(os.path.join(here, "calib_u8.npy"), np.ascontiguousarray(x[:64]))


if __name__ == "__main__":
    main()
