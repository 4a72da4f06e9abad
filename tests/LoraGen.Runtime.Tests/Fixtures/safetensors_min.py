"""A tiny safetensors writer using only the standard library and numpy (no safetensors package).

Mirrors the reference writer: tensors sorted by descending dtype alignment then name, compact JSON header
with __metadata__ first, padded with spaces to a multiple of 8, data contiguous and little-endian.
"""
import json
import struct

import numpy as np

_DTYPES = {np.dtype("float32"): "F32", np.dtype("float16"): "F16", np.dtype("float64"): "F64",
           np.dtype("int64"): "I64", np.dtype("int32"): "I32", np.dtype("uint8"): "U8"}
_ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"]


def _label(value):
    """A numpy array, or (label, uint16 array) for BF16, which numpy lacks."""
    return value[0] if isinstance(value, tuple) else _DTYPES[np.asarray(value).dtype]


def bf16(arr):
    """float32 array -> ("BF16", uint16 bits), rounding to nearest even."""
    bits = np.asarray(arr, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    return ("BF16", rounded)


def save(path, tensors, metadata=None):
    items = sorted(tensors.items(), key=lambda kv: (-_ORDER.index(_label(kv[1])), kv[0].encode()))
    header, offset, blobs = {}, 0, []
    if metadata:
        header["__metadata__"] = dict(sorted(metadata.items()))
    for name, arr in items:
        label = _label(arr)
        arr = arr[1] if isinstance(arr, tuple) else np.asarray(arr, order="C")  # keeps 0-d arrays 0-d
        blob = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": label, "shape": list(arr.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    raw = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)
