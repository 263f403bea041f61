#!/usr/bin/env python3
"""edgefed's codec against the plain Python reader and writer (read_safetensors.py,
write_safetensors.py), which know only the public safetensors description.

  codec_interop.py python-reads-edgefed TOOL DIR
      TOOL (edgefed_codec_interop) writes a model and one update per
      encoding; the plain reader must load them and find exactly the values
      TOOL says it wrote (bit for bit, or within each encoding's stated
      bound and with the exact quantisation for the lossy ones).
  codec_interop.py edgefed-reads-python TOOL DIR
      this script writes a model and updates with the plain writer, then
      TOOL must decode them to exactly the values written here.
Exit status 0 when everything agrees.
"""
import hashlib
import math
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import read_safetensors  # noqa: E402
import write_safetensors  # noqa: E402

# mlp:7-5-3 as edgefed lays it out.
LAYOUT = [("layers.0.weight", (5, 7)), ("layers.0.bias", (5,)), ("layers.1.weight", (3, 5)), ("layers.1.bias", (3,))]
FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL: " + what)


def fingerprint(layout):
    # edgefed's layout fingerprint (model_layout.hpp): sha256 of
    # "name:d0xd1;..." in tensor order, first 16 hex digits.
    canon = "".join("%s:%s;" % (n, "x".join(str(d) for d in s)) for n, s in layout)
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def bits(a):
    return np.ascontiguousarray(a, dtype="<f4").view("<u4")


def split(flat):
    out, pos = {}, 0
    for name, shape in LAYOUT:
        n = int(np.prod(shape))
        out[name] = flat[pos:pos + n].reshape(shape)
        pos += n
    return out


def python_reads_edgefed(tool, d):
    subprocess.run([tool, "write", d], check=True)
    fp = fingerprint(LAYOUT)

    tensors, md = read_safetensors.load(os.path.join(d, "edgefed_model.safetensors"))
    want = np.fromfile(os.path.join(d, "edgefed_model.f32"), dtype="<f4")
    check([(n, t.shape) for n, t in tensors.items()] == LAYOUT, "model: tensor names or shapes differ")
    check(all(t.dtype == np.dtype("<f4") for t in tensors.values()), "model: not all F32")
    got = np.concatenate([t.reshape(-1) for t in tensors.values()])
    check(np.array_equal(bits(got), bits(want)), "model: values differ from what edgefed wrote")
    check(md == {"format": "edgefed-model", "layout_fingerprint": fp, "version": "5", "note": "interop"},
          "model: metadata %r" % md)
    # Byte-identical to what the plain writer makes of the same content.
    with open(os.path.join(d, "edgefed_model.safetensors"), "rb") as f:
        check(f.read() == write_safetensors.dumps(tensors, dict(sorted(md.items()))),
              "model: bytes differ from the plain writer's")

    delta = np.fromfile(os.path.join(d, "edgefed_delta.f32"), dtype="<f4")
    dense = split(delta)
    for enc in ("f32", "f16", "int8", "topk"):
        tensors, md = read_safetensors.load(os.path.join(d, "edgefed_update_%s.safetensors" % enc))
        where = "update %s: " % enc
        check(md.get("encoding") == enc and md.get("layout_fingerprint") == fp and md.get("agent_id") == "agent-042"
              and md.get("base_version") == "5" and md.get("num_samples") == "128"
              and float(md.get("train_loss", "nan")) == 0.6931471805599453, where + "metadata %r" % md)
        if enc == "f32":
            got = np.concatenate([t.reshape(-1) for t in tensors.values()])
            check(np.array_equal(bits(got), bits(delta)), where + "values differ")
        elif enc == "f16":
            for name, x in dense.items():
                t = tensors[name]
                check(t.dtype == np.dtype("<f2"), where + name + " is not F16")
                # Same rounding as numpy's own float32 -> float16 conversion.
                check(np.array_equal(t.view("<u2"), x.astype("<f2").view("<u2")), where + name + " rounds differently")
        elif enc == "int8":
            for name, x in dense.items():
                q = tensors[name]
                check(q.dtype == np.dtype("i1"), where + name + " is not I8")
                scale = np.float32(md["scale." + name])
                m = float(np.max(np.abs(x)))
                check(abs(float(scale) - m / 127) <= 1e-6 * m / 127, where + name + " scale %r" % md["scale." + name])
                want_q = np.clip(np.rint(x.astype(np.float64) / float(scale)), -127, 127).astype("i1")
                check(np.array_equal(q, want_q), where + name + " quantises differently")
                err = np.abs(q.astype(np.float64) * float(scale) - x.astype(np.float64))
                check(float(np.max(err)) <= float(scale) / 2 * (1 + 1e-6), where + name + " error above scale / 2")
        else:
            idx, val = tensors["__topk_indices__"], tensors["__topk_values__"]
            n = delta.size
            k = max(1, min(n, int(math.floor(0.1 * n + 0.5))))
            check(idx.dtype == np.dtype("<i4") and val.dtype == np.dtype("<f4"), where + "dtypes")
            check(idx.shape == (k,) and val.shape == (k,), where + "k = %s, want %d" % (idx.shape, k))
            check(bool(np.all(np.diff(idx) > 0)), where + "indices not strictly increasing")
            check(np.array_equal(bits(val), bits(delta[idx])), where + "values differ from the delta")
            dropped = np.delete(np.abs(delta), idx)
            check(float(np.max(dropped)) <= float(np.min(np.abs(val))), where + "a dropped entry is larger than a kept one")
    return not FAILURES


def edgefed_reads_python(tool, d):
    os.makedirs(d, exist_ok=True)
    fp = fingerprint(LAYOUT)
    rng = np.random.default_rng(3)
    n = sum(int(np.prod(s)) for _, s in LAYOUT)

    flat = (rng.standard_normal(n) * np.exp2(rng.integers(-20, 5, n))).astype("<f4")
    flat[:5] = [-0.0, np.finfo("<f4").smallest_subnormal, np.finfo("<f4").max, np.finfo("<f4").min, 1e-40]
    write_safetensors.save(os.path.join(d, "python_model.safetensors"), split(flat),
                           {"format": "edgefed-model", "layout_fingerprint": fp, "version": "9",
                            "writer": "write_safetensors.py"})
    flat.tofile(os.path.join(d, "python_model.f32"))

    delta = (rng.standard_normal(n) * np.exp2(rng.integers(-12, 3, n))).astype("<f4")
    meta = {"agent_id": "py-agent", "update_id": "py-1", "base_version": "9", "num_samples": "32",
            "train_loss": "0.125", "layout_fingerprint": fp}
    for enc in ("f32", "f16", "int8", "topk"):
        md = dict(meta, encoding=enc)
        if enc == "f32":
            tensors, expected = split(delta), delta
        elif enc == "f16":
            half = delta.astype("<f2")
            tensors, expected = split(half), half.astype("<f4")
        elif enc == "int8":
            tensors, parts = {}, []
            for name, x in split(delta).items():
                scale = np.float32(np.max(np.abs(x)) / np.float32(127))
                q = np.clip(np.rint(x.astype(np.float64) / float(scale)), -127, 127).astype("i1")
                tensors[name] = q
                md["scale." + name] = repr(float(scale))
                parts.append((q.astype(np.float64) * float(scale)).astype("<f4").reshape(-1))
            expected = np.concatenate(parts)
        else:
            k = 7
            idx = np.sort(np.argsort(-np.abs(delta), kind="stable")[:k]).astype("<i4")
            tensors = {"__topk_indices__": idx, "__topk_values__": delta[idx]}
            expected = np.zeros(n, dtype="<f4")
            expected[idx] = delta[idx]
        write_safetensors.save(os.path.join(d, "python_update_%s.safetensors" % enc), tensors, md)
        expected.astype("<f4").tofile(os.path.join(d, "python_update_%s.f32" % enc))
    return subprocess.run([tool, "check", d]).returncode == 0


def main(argv):
    if len(argv) != 4 or argv[1] not in ("python-reads-edgefed", "edgefed-reads-python"):
        print(__doc__, file=sys.stderr)
        return 2
    ok = (python_reads_edgefed if argv[1] == "python-reads-edgefed" else edgefed_reads_python)(argv[2], argv[3])
    print("ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
