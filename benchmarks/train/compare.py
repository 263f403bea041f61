#!/usr/bin/python3
"""Runs edgefed-bench-train and its PyTorch peer (torch_peer.py) in one
invocation on the same data, model, batch and optimizer, interleaved and
repeated (absolute figures drift on a shared machine), and prints the median
samples/s of each and the ratios. edgefed is measured twice: with the kernel
the CPU check picks (AVX2+FMA where present) and forced onto the portable
x86-64-v2 path (EDGEFED_TRAINER_ISA=generic, what a Celeron runs), and,
with --native-build, a third time from a -DEDGEFED_NATIVE=ON build, in the
same interleaved loop so all ratios share the machine's load. With
--torch-sse, PyTorch is also run restricted to SSE (OpenBLAS Nehalem kernels,
oneDNN SSE4.1, ATen's default capability), which is what it runs on a CPU
without AVX such as a Celeron: the like-for-like peer of the x86-64-v2 path.
With --json, one JSON object on the last line.

  /usr/bin/python3 benchmarks/train/compare.py --build build-release --epochs 2 --repeat 3 --json
  /usr/bin/python3 benchmarks/train/compare.py --build build-release --native-build build-native --json
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def last_json(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default="build-release", help="build directory holding benchmarks/train/edgefed-bench-train")
    p.add_argument("--native-build", default="", help="also measure this -DEDGEFED_NATIVE=ON build directory")
    p.add_argument("--torch-sse", action="store_true", help="also measure PyTorch restricted to SSE (no AVX)")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--samples", type=int, default=0)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--layers", default="784,128,10")
    p.add_argument("--model", default="", help="a model preset or spec FILE.json instead of --layers (e.g. cnn-fmnist)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()

    bench = os.path.join(a.build, "benchmarks", "train", "edgefed-bench-train")
    common = ["--layers", a.layers, "--batch", str(a.batch), "--threads", "1", "--epochs", str(a.epochs),
              "--samples", str(a.samples), "--json"]
    bench_args = common + (["--model", a.model] if a.model else [])
    peer_args = list(common)
    model_name = f"MLP {a.layers}"
    if a.model:
        # The peer builds the same network from the spec edgefed resolved.
        probe = last_json([bench, "--model", a.model, "--samples", "64", "--json"])
        peer_args += ["--spec-json", json.dumps(probe["model_spec"])]
        model_name = probe["model"]
    generic_env = dict(os.environ, EDGEFED_TRAINER_ISA="generic")
    native = os.path.join(a.native_build, "benchmarks", "train", "edgefed-bench-train") if a.native_build else ""
    runs = {"edgefed": [], "edgefed_portable": [], "torch": []}
    if native:
        runs["edgefed_native"] = []
    # Each library's own switch for the instruction set it dispatches to.
    sse_env = dict(os.environ, OPENBLAS_CORETYPE="Nehalem", DNNL_MAX_CPU_ISA="SSE41", ATEN_CPU_CAPABILITY="default")
    if a.torch_sse:
        runs["torch_sse"] = []
    info = {}
    for i in range(a.repeat):
        e = last_json([bench] + bench_args)
        g = last_json([bench] + bench_args, env=generic_env)
        n = last_json([native] + bench_args) if native else None
        t = last_json([sys.executable, os.path.join(HERE, "torch_peer.py")] + peer_args)
        if n:
            runs["edgefed_native"].append(n["samples_per_s"])
        ts = last_json([sys.executable, os.path.join(HERE, "torch_peer.py")] + peer_args, env=sse_env) if a.torch_sse else None
        if ts:
            runs["torch_sse"].append(ts["samples_per_s"])
        runs["edgefed"].append(e["samples_per_s"])
        runs["edgefed_portable"].append(g["samples_per_s"])
        runs["torch"].append(t["samples_per_s"])
        info = {"kernel_isa": e.get("kernel_isa"), "arch": e.get("arch"), "torch_version": t.get("torch"),
                "edgefed_peak_rss_mb": e["peak_rss_mb"], "torch_peak_rss_mb": t["peak_rss_mb"]}
        print(f"run {i + 1}: edgefed {e['samples_per_s']:.0f} ({e.get('kernel_isa')}), "
              f"edgefed portable {g['samples_per_s']:.0f}, "
              + (f"edgefed native {n['samples_per_s']:.0f} ({n.get('arch')}), " if n else "")
              + f"torch {t['samples_per_s']:.0f}"
              + (f", torch SSE-only {ts['samples_per_s']:.0f}" if ts else "") + " samples/s")
    med = {k: statistics.median(v) for k, v in runs.items()}
    ratio = med["edgefed"] / med["torch"]
    ratio_portable = med["edgefed_portable"] / med["torch"]
    print(f"median samples/s ({model_name}, batch {a.batch}, 1 thread): edgefed {med['edgefed']:.0f} "
          f"[{info['kernel_isa']} kernel, {info['arch']} build], edgefed portable path {med['edgefed_portable']:.0f}, "
          f"PyTorch {info['torch_version']} {med['torch']:.0f}")
    extra = {}
    native_note = ""
    if native:
        extra = {"samples_per_s_native": med["edgefed_native"],
                 "ratio_vs_torch_native": med["edgefed_native"] / med["torch"]}
        native_note = f", native build {extra['ratio_vs_torch_native']:.2f}x ({med['edgefed_native']:.0f} samples/s)"
    if a.torch_sse:
        extra["torch_sse_samples_per_s"] = med["torch_sse"]
        extra["ratio_portable_vs_torch_sse"] = med["edgefed_portable"] / med["torch_sse"]
        native_note += (f"; portable path vs PyTorch SSE-only ({med['torch_sse']:.0f} samples/s) "
                        f"{extra['ratio_portable_vs_torch_sse']:.2f}x")
    print(f"ratio edgefed / PyTorch: {ratio:.2f}x (portable path {ratio_portable:.2f}x{native_note}); "
          f"peak RSS {info['edgefed_peak_rss_mb']:.0f} MiB vs {info['torch_peak_rss_mb']:.0f} MiB")
    if a.json:
        print(json.dumps({"benchmark": "train-compare", "layers": a.layers.replace(",", "-"), "model": model_name,
                          "batch": a.batch,
                          "epochs": a.epochs, "repeat": a.repeat,
                          "samples_per_s": med["edgefed"], "samples_per_s_portable": med["edgefed_portable"],
                          "torch_samples_per_s": med["torch"], "ratio_vs_torch": ratio,
                          "ratio_vs_torch_portable": ratio_portable, **extra, **info, "runs": runs}))


if __name__ == "__main__":
    main()
