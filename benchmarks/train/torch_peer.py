#!/usr/bin/python3
"""The PyTorch peer of edgefed-bench-train: the same model (an MLP from
--layers, or any model spec from --spec-json, as edgefed-bench-train --json
prints it under "model_spec"), batch, optimizer and
data (Fashion-MNIST from the same IDX files, features scaled to [0, 1]) on
one CPU thread, timed the same way (training loop only, data in memory).
Human-readable lines, then with --json one JSON object on the last line.
Needs Debian's python3-torch (run with /usr/bin/python3)."""
import argparse
import gzip
import json
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    if data[0] != 0 or data[1] != 0 or data[2] != 8:
        sys.exit(f"{path}: not an unsigned-byte IDX file")
    ndims = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndims)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndims)
    return arr.reshape(dims)


def load(data_dir, split, samples=0):
    x = read_idx(f"{data_dir}/{split}-images-idx3-ubyte.gz").reshape(-1, 784)
    y = read_idx(f"{data_dir}/{split}-labels-idx1-ubyte.gz")
    if samples > 0:
        x, y = x[:samples], y[:samples]
    return torch.from_numpy(x.astype(np.float32) / 255.0), torch.from_numpy(y.astype(np.int64))


def build_from_spec(spec):
    """torch.nn.Sequential for an edgefed model spec (docs/models.md)."""
    shape = list(spec["input"])
    layers = []
    for l in spec["layers"]:
        t = l["type"]
        if t == "dense":
            layers.append(torch.nn.Linear(shape[0], l["out"]))
            shape = [l["out"]]
        elif t in ("conv1d", "conv2d"):
            conv = torch.nn.Conv1d if t == "conv1d" else torch.nn.Conv2d
            layers.append(conv(shape[0], l["out"], l["kernel"], l["stride"], l["padding"]))
            dims = [(d + 2 * l["padding"] - l["kernel"]) // l["stride"] + 1 for d in shape[1:]]
            shape = [l["out"]] + dims
        elif t in ("maxpool1d", "maxpool2d", "avgpool2d"):
            pool = {"maxpool1d": torch.nn.MaxPool1d, "maxpool2d": torch.nn.MaxPool2d, "avgpool2d": torch.nn.AvgPool2d}[t]
            layers.append(pool(l["kernel"], l["stride"]))
            shape = [shape[0]] + [(d - l["kernel"]) // l["stride"] + 1 for d in shape[1:]]
        elif t == "global_avgpool":
            layers.append(torch.nn.Sequential(torch.nn.Flatten(2), torch.nn.AdaptiveAvgPool1d(1), torch.nn.Flatten()))
            shape = [shape[0]]
        elif t == "flatten":
            layers.append(torch.nn.Flatten())
            shape = [int(np.prod(shape))]
        elif t in ("relu", "tanh", "sigmoid"):
            layers.append({"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}[t]())
        elif t == "dropout":
            layers.append(torch.nn.Dropout(l["rate"]))
        else:
            sys.exit(f"torch_peer: unknown layer type {t}")
    return torch.nn.Sequential(*layers)


def peak_rss_mb():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--layers", default="784,128,10")
    p.add_argument("--spec-json", default="", help="a model spec (JSON text) instead of --layers")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--samples", type=int, default=0)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--central", action="store_true")
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    sizes = [int(s) for s in a.layers.split(",")]
    if a.spec_json:
        spec = json.loads(a.spec_json)
        model = build_from_spec(spec)
        name = spec.get("name", "spec")
    else:
        layers = []
        for i in range(len(sizes) - 1):
            layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
            if i + 2 < len(sizes):
                layers.append(torch.nn.ReLU())
        model = torch.nn.Sequential(*layers)
        spec = {"input": [784]}
        name = "MLP " + "-".join(map(str, sizes))
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum)
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = load(a.data_dir, "train", a.samples)
    xt, yt = load(a.data_dir, "t10k") if a.central else (None, None)
    x = x.reshape(-1, *spec["input"])
    if xt is not None:
        xt = xt.reshape(-1, *spec["input"])
    n = x.shape[0]
    print(f"torch_peer: torch {torch.__version__}, {name}, {n} training images, "
          f"batch {a.batch}, lr {a.lr}, momentum {a.momentum}, {torch.get_num_threads()} thread(s)")
    train_s = 0.0
    seen = 0
    acc = []
    for e in range(a.epochs):
        perm = torch.randperm(n)
        t0 = time.perf_counter()
        for s in range(0, n, a.batch):
            idx = perm[s:s + a.batch]
            xb, yb = x[idx], y[idx]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        dt = time.perf_counter() - t0
        train_s += dt
        seen += n
        line = f"  epoch {e + 1:2d}: {n / dt:.0f} samples/s"
        if a.central:
            with torch.no_grad():
                acc.append(float((model(xt).argmax(1) == yt).float().mean()))
            line += f", test acc {acc[-1]:.4f}"
        print(line)
    sps = seen / train_s
    print(f"  {sps:.0f} samples/s over {train_s:.2f} s of training; peak RSS {peak_rss_mb():.1f} MiB")
    sys.stdout.flush()
    if a.json:
        out = {"benchmark": "train-torch", "torch": torch.__version__, "layers": name if a.spec_json else "-".join(map(str, sizes)),
               "batch": a.batch, "threads": torch.get_num_threads(), "epochs": a.epochs, "train_samples": n,
               "samples_per_s": sps, "seconds": train_s, "peak_rss_mb": peak_rss_mb()}
        if a.central:
            out["test_accuracy"] = acc[-1]
            out["accuracy_by_epoch"] = acc
        print(json.dumps(out))


if __name__ == "__main__":
    main()
