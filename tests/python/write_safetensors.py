"""A plain safetensors writer from the public description of the format
(see read_safetensors.py): header size, JSON header with dtype, shape and
data_offsets per tensor plus "__metadata__", then the raw little-endian
bytes. The header is padded with spaces to a multiple of 8 bytes, as the
reference writer does."""
import json
import struct

import numpy as np

NAMES = {("f", 4): "F32", ("f", 2): "F16", ("i", 1): "I8", ("i", 4): "I32"}


def dumps(tensors, metadata=None):
    """tensors: a dict name -> numpy array, written in dict order."""
    header = {}
    if metadata:
        header["__metadata__"] = dict(metadata)
    chunks = []
    offset = 0
    for name, array in tensors.items():
        a = np.ascontiguousarray(array)
        raw = a.astype(a.dtype.newbyteorder("<")).tobytes()  # row-major, little-endian
        header[name] = {"dtype": NAMES[(a.dtype.kind, a.dtype.itemsize)], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def save(path, tensors, metadata=None):
    with open(path, "wb") as f:
        f.write(dumps(tensors, metadata))
