#!/usr/bin/python3
"""The PyTorch peer of edgefed-bench-train: the same MLP, batch, optimizer and
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


def peak_rss_mb():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--layers", default="784,128,10")
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
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum)
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = load(a.data_dir, "train", a.samples)
    xt, yt = load(a.data_dir, "t10k") if a.central else (None, None)
    n = x.shape[0]
    print(f"torch_peer: torch {torch.__version__}, MLP {'-'.join(map(str, sizes))}, {n} training images, "
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
        out = {"benchmark": "train-torch", "torch": torch.__version__, "layers": "-".join(map(str, sizes)),
               "batch": a.batch, "threads": torch.get_num_threads(), "epochs": a.epochs, "train_samples": n,
               "samples_per_s": sps, "seconds": train_s, "peak_rss_mb": peak_rss_mb()}
        if a.central:
            out["test_accuracy"] = acc[-1]
            out["accuracy_by_epoch"] = acc
        print(json.dumps(out))


if __name__ == "__main__":
    main()
