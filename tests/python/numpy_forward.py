#!/usr/bin/env python3
"""A numpy forward pass over an edgefed model file, written from the model
spec's documentation (docs/models.md) and PyTorch's layer definitions, with
no edgefed code: if its outputs equal edgefed's, a checkpoint means the same
network to any framework that follows those definitions (PyTorch included).

Usage: numpy_forward.py MODEL.safetensors INPUTS.f32 OUTPUTS.f32
  reads the spec from the file's __metadata__["model_spec"], runs INPUTS
  (raw float32 samples) through it in float64 and compares with OUTPUTS
  (edgefed's float32 outputs): exits 1 unless every output agrees within
  1e-5 (relative to max(1, |value|)).
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from read_safetensors import load  # noqa: E402


def windows(x, kh, kw, stride_h, stride_w, out_h, out_w):
    """Yields (i, j, x[:, :, i::stride][:out_h], ...) for each kernel offset."""
    for i in range(kh):
        for j in range(kw):
            yield i, j, x[:, :, i:i + stride_h * (out_h - 1) + 1:stride_h, j:j + stride_w * (out_w - 1) + 1:stride_w]


def conv(x, w, b, stride, pad, two_d):
    # x [N, C, H, W]; 1-D layers are [N, C, 1, L] with kernel [O, C, 1, k].
    if not two_d:
        w = w[:, :, None, :]
    ph = pad if two_d else 0
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pad, pad)))
    kh, kw = w.shape[2], w.shape[3]
    sh = stride if two_d else 1
    out_h = (xp.shape[2] - kh) // sh + 1
    out_w = (xp.shape[3] - kw) // stride + 1
    out = np.zeros((x.shape[0], w.shape[0], out_h, out_w))
    for i, j, patch in windows(xp, kh, kw, sh, stride, out_h, out_w):
        out += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    return out + b[None, :, None, None]


def pool(x, kernel, stride, two_d, reduce):
    kh = kernel if two_d else 1
    sh = stride if two_d else 1
    out_h = (x.shape[2] - kh) // sh + 1
    out_w = (x.shape[3] - kernel) // stride + 1
    patches = [p for _, _, p in windows(x, kh, kernel, sh, stride, out_h, out_w)]
    return reduce(np.stack(patches), axis=0)


def forward(spec, tensors, x):
    shape = spec["input"]
    # Work in [N, C, H, W]: [N] -> [N, N, 1, 1]-free flat handling below.
    if len(shape) == 3:
        a = x.reshape(-1, *shape)
    elif len(shape) == 2:
        a = x.reshape(-1, shape[0], 1, shape[1])
    else:
        a = x.reshape(-1, shape[0])
    for i, layer in enumerate(spec["layers"]):
        t = layer["type"]
        w = tensors.get("layers.%d.weight" % i)
        b = tensors.get("layers.%d.bias" % i)
        if t == "dense":
            a = a @ w.T.astype(np.float64) + b
        elif t in ("conv1d", "conv2d"):
            a = conv(a, w.astype(np.float64), b.astype(np.float64), layer["stride"], layer["padding"], t == "conv2d")
        elif t in ("maxpool1d", "maxpool2d"):
            a = pool(a, layer["kernel"], layer["stride"], t == "maxpool2d", np.max)
        elif t == "avgpool2d":
            a = pool(a, layer["kernel"], layer["stride"], True, np.mean)
        elif t == "global_avgpool":
            a = a.reshape(a.shape[0], a.shape[1], -1).mean(axis=2)
        elif t == "flatten":
            a = a.reshape(a.shape[0], -1)  # channel, row, column: PyTorch's order
        elif t == "relu":
            a = np.maximum(a, 0)
        elif t == "tanh":
            a = np.tanh(a)
        elif t == "sigmoid":
            a = 1 / (1 + np.exp(-a))
        elif t == "dropout":
            pass  # evaluation: the identity
        else:
            raise ValueError("unknown layer type %r" % t)
    return a.reshape(a.shape[0], -1)


def main(argv):
    if len(argv) != 4:
        print(__doc__.split("Usage: ")[1], file=sys.stderr)
        return 2
    tensors, metadata = load(argv[1])
    spec = json.loads(metadata["model_spec"])
    expected_names = set()
    for i, layer in enumerate(spec["layers"]):
        if layer["type"] in ("dense", "conv1d", "conv2d"):
            expected_names |= {"layers.%d.weight" % i, "layers.%d.bias" % i}
    if set(tensors) != expected_names:
        print("FAIL tensor names %s, the spec says %s" % (sorted(tensors), sorted(expected_names)))
        return 1
    in_size = int(np.prod(spec["input"]))
    x = np.fromfile(argv[2], dtype="<f4").astype(np.float64).reshape(-1, in_size)
    want = np.fromfile(argv[3], dtype="<f4").astype(np.float64).reshape(x.shape[0], -1)
    got = forward(spec, tensors, x)
    if got.shape != want.shape:
        print("FAIL output shape %s, edgefed gave %s" % (got.shape, want.shape))
        return 1
    err = np.max(np.abs(got - want) / np.maximum(1.0, np.abs(got)))
    name = spec.get("name", "spec")
    print("%s %s: %d samples x %d outputs, max relative difference %.2e" %
          ("ok" if err <= 1e-5 else "FAIL", name, got.shape[0], got.shape[1], err))
    return 0 if err <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
