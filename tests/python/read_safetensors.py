#!/usr/bin/env python3
"""A plain safetensors reader, written only from the public description of
the format (huggingface/safetensors README, "Format"), with no edgefed code:

  - 8 bytes: N, an unsigned little-endian 64-bit integer, the header size;
  - N bytes: a UTF-8 JSON object {"NAME": {"dtype": ..., "shape": [...],
    "data_offsets": [BEGIN, END]}, ...}, with an optional "__metadata__"
    object of string -> string; it may be padded with trailing spaces;
  - the rest: the byte buffer; offsets are relative to its start, END is
    one past the last byte, and the tensors cover it without holes or
    overlaps. Values are little-endian, row-major.

If edgefed's files load here unchanged, any other reader that follows the
description (Python's safetensors.numpy.load_file, for one) can open them.

Usage: read_safetensors.py FILE [--expect RAW.f32]
  prints metadata and every tensor; with --expect, checks that the tensors,
  concatenated in data order, equal RAW.f32 (raw little-endian float32) bit
  for bit, and exits 1 if not.
"""
import json
import struct
import sys

import numpy as np

DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2",
    "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
    "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?",
}
MAX_HEADER = 100 * 1000 * 1000  # the reference implementation's cap


class FormatError(ValueError):
    pass


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise FormatError("duplicate key in header")
    return dict(pairs)


def loads(data):
    """Parses a whole file's bytes: returns (tensors, metadata), tensors an
    ordered dict name -> numpy array in data order."""
    if len(data) < 8:
        raise FormatError("file shorter than the 8-byte header size")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER or 8 + n > len(data):
        raise FormatError("header size %d does not fit the file" % n)
    text = data[8:8 + n].decode("utf-8")  # raises on non-UTF-8
    if not text.startswith("{"):
        raise FormatError("header is not a JSON object")
    header = json.loads(text, object_pairs_hook=_no_duplicates)
    metadata = header.pop("__metadata__", {}) or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise FormatError("__metadata__ must map strings to strings")
    buffer = memoryview(data)[8 + n:]
    entries = sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"]))
    tensors = {}
    pos = 0
    for name, info in entries:
        begin, end = info["data_offsets"]
        if begin != pos or end < begin or end > len(buffer):
            raise FormatError("tensor %r: data_offsets [%d, %d] leave a hole or overlap" % (name, begin, end))
        dtype = np.dtype(DTYPES[info["dtype"]])
        shape = tuple(info["shape"])
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if count * dtype.itemsize != end - begin:
            raise FormatError("tensor %r: shape %s does not match %d bytes" % (name, shape, end - begin))
        tensors[name] = np.frombuffer(buffer[begin:end], dtype=dtype).reshape(shape)
        pos = end
    if pos != len(buffer):
        raise FormatError("%d bytes at the end of the buffer belong to no tensor" % (len(buffer) - pos))
    return tensors, metadata


def load(path):
    with open(path, "rb") as f:
        return loads(f.read())


def main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--expect"):
        print(__doc__.split("Usage: ")[1], file=sys.stderr)
        return 2
    tensors, metadata = load(argv[1])
    for k, v in sorted(metadata.items()):
        print("metadata %s = %s" % (k, v))
    for name, t in tensors.items():
        flat = t.reshape(-1)
        print("%s %s %s %s%s" % (name, t.dtype, list(t.shape), flat[:4].tolist(), " ..." if flat.size > 4 else ""))
    if len(argv) == 4:
        want = np.fromfile(argv[3], dtype="<f4")
        got = np.concatenate([t.reshape(-1).astype("<f4") for t in tensors.values()])
        if got.shape != want.shape or not np.array_equal(got.view("<u4"), want.view("<u4")):
            print("MISMATCH against %s" % argv[3])
            return 1
        print("values equal %s bit for bit (%d floats)" % (argv[3], want.size))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
