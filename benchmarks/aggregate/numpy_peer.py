#!/usr/bin/python3
"""numpy peer of edgefed-bench-aggregate: the same aggregations written the
way Python federated-learning servers write them, on the same data shape
(N client updates of D float32, standard normal, fixed seed).

Methods (--method, repeatable; default all):
  flower    Flower's aggregate(): a list of per-client arrays, each multiplied
            by its example count, summed with functools.reduce(np.add, ...),
            divided by the total.
  matvec    numpy's fastest FedAvg: one BLAS matrix-vector product
            weights @ stack (stack float32 N x D).
  median    np.median(stack, axis=0).
  trimmed   np.sort(stack, axis=0), drop floor(beta N) rows at each end, mean.
  krum      Gram matrix stack @ stack.T (BLAS), distances, multi-Krum scores,
            mean of the m best.

Each record has the median wall seconds and the median CPU seconds of the
process (all threads) per aggregation: on a machine shared with builds, CPU
time is what other processes do not inflate by time-slicing.

Run with /usr/bin/python3 (Debian's python3-numpy, OpenBLAS) and
OPENBLAS_NUM_THREADS=1 for single-thread figures. Prints one line per method
and, with --json, one JSON object per method (one per line), each last
among the lines for that method.
"""
import argparse
import functools
import json
import os
import resource
import statistics
import time

import numpy as np


def flower(updates, weights):
    total = sum(weights)
    weighted = [u * w for u, w in zip(updates, weights)]
    return functools.reduce(np.add, weighted) / total


def matvec(stack, weights):
    w = np.asarray(weights, dtype=np.float32)
    return (w / w.sum()) @ stack


def median(stack):
    return np.median(stack, axis=0)


def trimmed(stack, beta):
    n = stack.shape[0]
    cut = int(np.floor(beta * n))
    s = np.sort(stack, axis=0)
    return s[cut:n - cut].mean(axis=0)


def krum(stack, f, m):
    n = stack.shape[0]
    g = (stack @ stack.T).astype(np.float64)
    sq = np.diag(g)
    d = np.maximum(sq[:, None] + sq[None, :] - 2 * g, 0)
    np.fill_diagonal(d, np.inf)
    nearest = n - f - 2
    scores = np.sort(d, axis=1)[:, :nearest].sum(axis=1)
    chosen = np.argsort(scores, kind="stable")[:m]
    return stack[chosen].mean(axis=0)


def blas_libraries():
    """BLAS shared objects this process has mapped (after a BLAS call), e.g.
    libopenblasp-r0.3.21.so from libopenblas0-pthread."""
    libs = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "blas" in path.lower() or "lapack" in path.lower() or "mkl" in path.lower():
                libs.add(os.path.realpath(path))
    return sorted(libs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--params", type=int, default=1_000_000)
    ap.add_argument("--method", action="append",
                    choices=["flower", "matvec", "median", "trimmed", "krum"])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--krum-f", type=int, default=-1)
    ap.add_argument("--krum-m", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    threads = int(os.environ.get("OPENBLAS_NUM_THREADS", "0") or 0)
    methods = a.method or ["flower", "matvec", "median", "trimmed", "krum"]
    f = a.krum_f if a.krum_f >= 0 else a.clients // 10
    m = a.krum_m if a.krum_m > 0 else a.clients - f

    rng = np.random.default_rng(1)
    stack = rng.standard_normal((a.clients, a.params), dtype=np.float32)
    updates = [stack[i].copy() for i in range(a.clients)] if "flower" in methods else None
    weights = [int(x) for x in rng.integers(1, 1001, a.clients)]

    run = {
        "flower": lambda: flower(updates, weights),
        "matvec": lambda: matvec(stack, weights),
        "median": lambda: median(stack),
        "trimmed": lambda: trimmed(stack, a.beta),
        "krum": lambda: krum(stack, f, m),
    }
    nbytes = a.clients * a.params * 4
    np.ones((4, 4), dtype=np.float32) @ np.ones(4, dtype=np.float32)  # load the BLAS
    blas = blas_libraries()
    for name in methods:
        times, cpu = [], []
        for _ in range(a.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            out = run[name]()
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        sec = statistics.median(times)
        rec = {"method": name, "clients": a.clients, "params": a.params, "threads": threads,
               "numpy": np.__version__, "blas": blas,
               "seconds": sec, "seconds_min": min(times), "seconds_first": times[0],
               "cpu_seconds": statistics.median(cpu), "cpu_seconds_first": cpu[0], "update_gb_per_s": nbytes / sec / 1e9,
               "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
               "checksum": float(np.sum(out, dtype=np.float64))}
        print(f"numpy {name}: {sec:.4f} s per aggregation (min {min(times):.4f}), "
              f"{rec['update_gb_per_s']:.2f} GB/s of updates")
        if a.json:
            print(json.dumps(rec))


if __name__ == "__main__":
    main()
