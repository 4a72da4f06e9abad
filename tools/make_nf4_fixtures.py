"""Writes tests/LoraGen.Runtime.Tests/Fixtures/nf4.safetensors: NF4 quantization with double quantization, written
from the QLoRA paper (Dettmers et al. 2023, section 3 and appendix E), as the reference for Kernels/Nf4Weight.cs.

Run with Debian's PyTorch 1.13 from the repository root:  /usr/bin/python3 tools/make_nf4_fixtures.py

The scheme (and every fp32 operation in the order the C# code does it):
  * The matrix is flattened row-major and cut into blocks of 64 values; absmax[b] = max |x| over block b.
  * Each value is normalized, n = x / absmax[b] (a block of zeros divides by 1), and coded as the index of the nearest
    of the 16 NF4 values: code = number of midpoints (c[k] + c[k+1]) / 2 strictly below n (ties go down).
    Two codes per byte, the even element in the high nibble (bitsandbytes' packing).
  * Double quantization (paper section 3 "Double Quantization"; bitsandbytes quantize_4bit(compress_statistics=True)):
    offset = mean(absmax) (accumulated in float64, rounded to fp32), centered = absmax - offset, then blocks of 256
    centered values with scale s = max |centered| coded as q = round(centered / s * 127) in int8 (round half to even).
    bitsandbytes codes the centered values with its 8-bit "dynamic" (dynamic-tree) map instead of this linear int8
    code; LoraGen keeps the linear code (same bytes: one int8 per block plus one fp32 per 256 blocks and one offset).
  * Dequantization: absmax'[b] = q[b] * (s / 127) + offset, value = c[code] * absmax'[b].
"""
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "LoraGen.Runtime.Tests", "Fixtures")
sys.path.insert(0, FIXTURES)
from safetensors_min import bf16, save  # noqa: E402

# The 16 NF4 values (QLoRA appendix E / bitsandbytes), as fp32.
NF4 = torch.tensor([
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
    0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0], dtype=torch.float32)
BLOCK, ABSMAX_BLOCK = 64, 256


def quantize(w):
    flat = w.reshape(-1)
    n = flat.numel()
    nblocks = (n + BLOCK - 1) // BLOCK
    padded = torch.zeros(nblocks * BLOCK, dtype=torch.float32)
    padded[:n] = flat
    blocks = padded.view(nblocks, BLOCK)
    absmax = blocks.abs().max(dim=1).values
    divisor = torch.where(absmax == 0, torch.ones_like(absmax), absmax)
    normalized = (blocks / divisor.unsqueeze(1)).reshape(-1)[:n]
    mids = (NF4[:-1] + NF4[1:]) / 2
    codes = (normalized.unsqueeze(1) > mids.unsqueeze(0)).sum(dim=1).to(torch.uint8)

    offset = absmax.double().mean().float()
    centered = absmax - offset
    nb2 = (nblocks + ABSMAX_BLOCK - 1) // ABSMAX_BLOCK
    scales = torch.zeros(nb2, dtype=torch.float32)
    qabsmax = torch.zeros(nblocks, dtype=torch.int8)
    absmax_dq = torch.zeros(nblocks, dtype=torch.float32)
    for j in range(nb2):
        seg = centered[j * ABSMAX_BLOCK:(j + 1) * ABSMAX_BLOCK]
        s = seg.abs().max()
        scales[j] = s
        q = torch.zeros_like(seg) if s == 0 else torch.round(seg / s * 127)
        qabsmax[j * ABSMAX_BLOCK:(j + 1) * ABSMAX_BLOCK] = q.to(torch.int8)
        step = s / 127
        absmax_dq[j * ABSMAX_BLOCK:(j + 1) * ABSMAX_BLOCK] = q * step + offset

    block_of = torch.arange(n) // BLOCK
    dequant = NF4[codes.long()] * absmax_dq[block_of]
    return codes, absmax, offset, scales, qabsmax, absmax_dq, dequant.reshape(w.shape)


def main():
    torch.manual_seed(1414)
    out = {"codebook": NF4.numpy()}
    # Inputs are bf16-representable (stored as BF16 to keep the file small; widening is exact on both sides).
    cases = {"a": (7, 19, 1.0), "b": (33, 65, 0.02), "c": (70, 300, 0.05)}   # c: 329 blocks → 2 absmax blocks
    for name, (rows, cols, std) in cases.items():
        w = torch.randn(rows, cols) * std
        w[0, :5] = 0   # a few exact zeros
        w = w.to(torch.bfloat16).to(torch.float32)
        codes, absmax, offset, scales, qabsmax, absmax_dq, dequant = quantize(w)
        out[f"{name}.w"] = bf16(w.numpy())
        out[f"{name}.codes"] = codes.numpy()
        out[f"{name}.absmax"] = absmax.numpy()
        out[f"{name}.offset"] = offset.reshape(1).numpy()
        out[f"{name}.scales"] = scales.numpy()
        out[f"{name}.qabsmax"] = ("I8", qabsmax.numpy().view(np.int8))
        out[f"{name}.absmax_dq"] = absmax_dq.numpy()
        out[f"{name}.dequant"] = dequant.numpy()
    path = os.path.join(FIXTURES, "nf4.safetensors")
    save(path, out, {"generator": "tools/make_nf4_fixtures.py", "torch": torch.__version__})
    print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
