#!/usr/bin/python3
"""train.py: trains the small Fashion-MNIST CNN of qgpu's accuracy table and
exports it as float ONNX (fashion_cnn.onnx beside this script).

    /usr/bin/python3 train.py [--epochs 4] [--out fashion_cnn.onnx] [--data DIR]

Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist,
IDX files). Seeded and single-threaded, so a run gives the same weights on
the same torch build (Debian 12's python3-torch 1.13). A few CPU minutes.

The network has the parts the issue asks for: Conv + BatchNorm + ReLU, a
residual Add, a depthwise Conv, max pooling, global average pooling and a
Linear. BatchNorm is folded into the Conv weights by torch.onnx.export in
eval mode, as for any exported CNN.
"""
import argparse
import gzip
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.dont_write_bytecode = True

DATA = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST training set mean and std of x/255


def read_idx(path):
    """An IDX file (gzip) as a numpy array (uint8 images or labels)."""
    with gzip.open(path, "rb") as f:
        b = f.read()
    zero, dtype, ndim = b[0] * 256 + b[1], b[2], b[3]
    if zero != 0 or dtype != 0x08:
        raise SystemExit(f"{path}: not an unsigned-byte IDX file")
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise SystemExit(f"{path}: {data.size} bytes for dims {dims}")
    return data.reshape(dims)


def load(data_dir, split):
    """(images float32 [N,1,28,28] normalised, labels int64 [N]) of "train" or "t10k"."""
    x = read_idx(os.path.join(data_dir, f"{split}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(data_dir, f"{split}-labels-idx1-ubyte.gz"))
    x = (x.astype(np.float32) / np.float32(255) - np.float32(MEAN)) / np.float32(STD)
    return x[:, None, :, :].astype(np.float32), y.astype(np.int64)


def conv_bn(cin, cout, stride=1, groups=1, k=3):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout))


class FashionCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv_bn(1, 16)            # 28x28
        self.down = conv_bn(16, 32, stride=2)  # 14x14
        self.res1 = conv_bn(32, 32)
        self.res2 = conv_bn(32, 32)
        self.dw = conv_bn(32, 32, groups=32)   # depthwise 3x3
        self.pw = conv_bn(32, 64, k=1)         # pointwise
        self.pool = nn.MaxPool2d(2)            # 7x7
        self.head = conv_bn(64, 64)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.stem(x))
        x = F.relu(self.down(x))
        y = F.relu(self.res1(x))
        x = F.relu(x + self.res2(y))  # residual Add
        x = F.relu(self.dw(x))
        x = F.relu(self.pw(x))
        x = self.pool(x)
        x = F.relu(self.head(x))
        x = torch.flatten(self.gap(x), 1)
        return self.fc(x)


def accuracy(model, x, y, batch=500):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(torch.from_numpy(x[i:i + batch])).argmax(1).numpy() == y[i:i + batch]).sum()
    return correct / len(x)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--data", default=DATA)
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "fashion_cnn.onnx"))
    a = p.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    xtr, ytr = load(a.data, "train")
    xte, yte = load(a.data, "t10k")
    model = FashionCNN()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True)
    batch = 128
    steps = a.epochs * ((len(xtr) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps)
    rng = np.random.default_rng(0)
    t0 = time.time()
    for ep in range(a.epochs):
        model.train()
        perm = rng.permutation(len(xtr))
        for i in range(0, len(xtr), batch):
            idx = perm[i:i + batch]
            xb = torch.from_numpy(xtr[idx])
            # random horizontal flips (clothes are left-right symmetric)
            flip = torch.from_numpy(rng.random(len(idx)) < 0.5)
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            loss = F.cross_entropy(model(xb), torch.from_numpy(ytr[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        print(f"epoch {ep + 1}: loss {loss.item():.4f}, test accuracy {accuracy(model, xte, yte):.4f} "
              f"({time.time() - t0:.0f} s)", file=sys.stderr)
    model.eval()
    torch.onnx.export(model, torch.from_numpy(xte[:1]), a.out, opset_version=13, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                      do_constant_folding=True)
    print(f"{a.out}: {os.path.getsize(a.out)} bytes, float test accuracy {accuracy(model, xte, yte):.4f}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
