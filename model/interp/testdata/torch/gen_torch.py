#!/usr/bin/python3
"""Generates the torch fixtures of package interp: small models exported
with torch.onnx.export, seeded inputs and torch's outputs.

Run with the system Python that has torch 1.13 and torchvision:

    /usr/bin/python3 model/interp/testdata/torch/gen_torch.py

writes, next to this script, for each model NAME:
    NAME.onnx         the model (eval mode, do_constant_folding=True)
    NAME.input.npy    a seeded float32 input
    NAME.output.npy   torch's output for it (float32)
    NAME.json         export settings (opset, batch, input/output names)

Full-size torchvision models (random init, seeded) for benchmarks, not
committed:

    /usr/bin/python3 model/interp/testdata/torch/gen_torch.py --full DIR

writes resnet18, resnet50 and mobilenet_v2 (opset 13, batch 1, input
1x3x224x224) into DIR with the same four files each. The interp
benchmarks read DIR from $QGPU_MODELS.
"""
import argparse
import io
import json
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
import torchvision
from torchvision.models.resnet import BasicBlock

warnings.filterwarnings("ignore")


def randomize_bn(model, gen):
    # Non-trivial running statistics and affine parameters, so that
    # BatchNormalization is not an identity.
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=gen) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(c, generator=gen) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(c, generator=gen) * 0.1)


class TinyCNN(nn.Module):
    """conv+BN+ReLU, a residual Add, a depthwise conv, max and average
    pooling, a Linear."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.pool = nn.MaxPool2d(2)
        self.dw = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False), nn.BatchNorm2d(8), nn.ReLU6())
        self.pw = nn.Sequential(nn.Conv2d(8, 8, 1), nn.BatchNorm2d(8))
        self.down = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.Hardswish())
        self.avg = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))

    def forward(self, x):
        x = self.pool(self.stem(x))
        x = torch.relu(x + self.pw(self.dw(x)))
        x = self.avg(self.down(x))
        return torch.softmax(self.head(x), dim=1)


def tiny_mobilenet_v2():
    # torchvision's MobileNetV2 with three inverted-residual stages and
    # the 1280-channel head conv replaced by a 64-channel one.
    m = torchvision.models.mobilenet_v2(
        width_mult=0.5, num_classes=10,
        inverted_residual_setting=[[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 2, 2]])
    last = m.features[-1]
    cin = last[0].in_channels
    m.features[-1] = torchvision.ops.Conv2dNormActivation(cin, 64, kernel_size=1, activation_layer=nn.ReLU6)
    m.classifier[1] = nn.Linear(64, 10)
    return m


class TinyResNet(nn.Module):
    """ResNet-18's structure (stem, max pool, BasicBlocks with a strided
    downsample, global pool, fc) with 8 and 16 channels."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(8),
                                  nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2, padding=1))
        down = nn.Sequential(nn.Conv2d(8, 16, 1, stride=2, bias=False), nn.BatchNorm2d(16))
        self.layers = nn.Sequential(BasicBlock(8, 8), BasicBlock(8, 16, stride=2, downsample=down))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))

    def forward(self, x):
        return self.head(self.layers(self.stem(x)))


def encoder(gelu):
    kw = dict(d_model=16, nhead=2, dim_feedforward=32, batch_first=True)
    if gelu:
        kw.update(activation="gelu", norm_first=True)
    return nn.TransformerEncoderLayer(**kw)


def export(model, name, shape, opset, outdir, dynamic_batch=False, run_batch=None):
    """Exports model for input shape, then runs torch on a seeded input of
    shape (batch run_batch if given: a dynamic-batch export is checked at
    another batch than the one it was traced with)."""
    model.eval()
    gen = torch.Generator().manual_seed(1234)
    trace = torch.randn(*shape, generator=gen)
    kw = dict(opset_version=opset, do_constant_folding=True, input_names=["input"], output_names=["output"])
    if dynamic_batch:
        kw["dynamic_axes"] = {"input": {0: "N"}, "output": {0: "N"}}
    # Not under no_grad: in eval mode without autograd torch takes
    # TransformerEncoderLayer's fused fast path, which has no ONNX export.
    f = io.BytesIO()
    torch.onnx.export(model, trace, f, **kw)
    with open(os.path.join(outdir, name + ".onnx"), "wb") as fh:
        fh.write(f.getvalue())
    run_shape = list(shape)
    if run_batch is not None:
        run_shape[0] = run_batch
    x = torch.randn(*run_shape, generator=gen)
    y = model(x).detach()
    np.save(os.path.join(outdir, name + ".input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(outdir, name + ".output.npy"), y.numpy().astype(np.float32))
    meta = {"opset": opset, "batch": run_shape[0], "dynamic_batch": dynamic_batch,
            "input": "input", "output": "output", "input_shape": run_shape}
    with open(os.path.join(outdir, name + ".json"), "w") as fh:
        json.dump(meta, fh, indent=1, sort_keys=True)
        fh.write("\n")
    print(f"{name}: {len(f.getvalue())} bytes, input {run_shape}, output {list(y.shape)}")


def small(outdir):
    for opset in (13, 17):
        torch.manual_seed(opset)
        gen = torch.Generator().manual_seed(opset)
        m = TinyCNN()
        randomize_bn(m, gen)
        export(m, f"tiny_cnn_op{opset}", (2, 3, 16, 16), opset, outdir)
        torch.manual_seed(100 + opset)
        export(encoder(False), f"encoder_relu_op{opset}", (2, 5, 16), opset, outdir)
        torch.manual_seed(200 + opset)
        export(encoder(True), f"encoder_gelu_op{opset}", (2, 5, 16), opset, outdir)
    # Dynamic batch: the Shape/Gather/Unsqueeze/Concat chains the exporter
    # emits fold once the batch is fixed; traced at 2, run at 3.
    torch.manual_seed(300)
    export(encoder(False), "encoder_dynbatch_op13", (2, 5, 16), 13, outdir, dynamic_batch=True, run_batch=3)
    torch.manual_seed(400)
    gen = torch.Generator().manual_seed(400)
    m = tiny_mobilenet_v2()
    randomize_bn(m, gen)
    export(m, "mobilenet_v2_tiny_op13", (2, 3, 32, 32), 13, outdir)
    torch.manual_seed(500)
    gen = torch.Generator().manual_seed(500)
    m = TinyResNet()
    randomize_bn(m, gen)
    export(m, "resnet_tiny_op13", (2, 3, 32, 32), 13, outdir)


def full(outdir):
    os.makedirs(outdir, exist_ok=True)
    for name, ctor in [("resnet18", torchvision.models.resnet18), ("resnet50", torchvision.models.resnet50),
                       ("mobilenet_v2", torchvision.models.mobilenet_v2)]:
        torch.manual_seed(0)
        gen = torch.Generator().manual_seed(0)
        m = ctor()
        randomize_bn(m, gen)
        export(m, name, (1, 3, 224, 224), 13, outdir)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--full", metavar="DIR", help="write the full-size torchvision models into DIR instead")
    a = p.parse_args()
    torch.set_num_threads(1)
    if a.full:
        full(a.full)
    else:
        small(os.path.dirname(os.path.abspath(__file__)))


if __name__ == "__main__":
    sys.exit(main())
