"""Writes combine.safetensors: PEFT's ties and magnitude_prune combinations of three rank-2 adapters of one layer.

Run with Debian's PyTorch:  /usr/bin/python3 make_combine_fixtures.py   (from this folder; uses the runtime tests'
safetensors_min.py). Written from PEFT's documented add_weighted_adapter behaviour: for these combination types the
merge runs on the A factors and on the B factors separately, adapter i weighted by sqrt(weight_i * scaling_i);
trimming keeps the int(density * n) largest |x|; the sign of each element is elected from the trimmed, unweighted
values ("total": sign of their sum, "frequency": sign of the sum of signs, ties to +); the disjoint merge averages the
weighted values whose sign agrees (count clamped to at least 1).
"""
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "LoraGen.Runtime.Tests", "Fixtures"))
from safetensors_min import save  # noqa: E402

torch.manual_seed(77)
r, n_in, n_out = 2, 5, 4
As = [torch.randn(r, n_in) for _ in range(3)]
Bs = [torch.randn(n_out, r) for _ in range(3)]
scalings = [2.0, 1.0, 0.5]
weights = [0.6, 0.3, 1.2]
density = 0.5


def trim(t):
    k = int(density * t.numel())
    flat = t.reshape(-1)
    mask = torch.zeros_like(flat)
    mask[torch.topk(flat.abs(), k=k, largest=True)[1]] = 1
    return (flat * mask).reshape(t.shape)


def elect(stacked, method):
    sign = stacked.sign()
    mag = stacked.sum(dim=0) if method == "total" else sign.sum(dim=0)
    return sign == torch.where(mag >= 0, 1.0, -1.0)


def ties(ts, w, method):
    s = torch.stack([trim(t) for t in ts])
    mask = elect(s, method)
    weighted = s * w.view(-1, *([1] * (s.dim() - 1)))
    return (weighted * mask).sum(0) / torch.clamp(mask.sum(0), min=1.0)


def magnitude_prune(ts, w):
    s = torch.stack([trim(t) for t in ts])
    return (s * w.view(-1, *([1] * (s.dim() - 1)))).sum(0)


w = torch.tensor([math.sqrt(wi * si) for wi, si in zip(weights, scalings)])
out = {}
for i in range(3):
    out[f"A{i}"], out[f"B{i}"] = As[i].numpy(), Bs[i].numpy()
out["scalings"] = np.array(scalings, dtype=np.float32)
out["weights"] = np.array(weights, dtype=np.float32)
for method in ["total", "frequency"]:
    out[f"ties.{method}.A"] = ties(As, w, method).numpy()
    out[f"ties.{method}.B"] = ties(Bs, w, method).numpy()
out["magnitude_prune.A"] = magnitude_prune(As, w).numpy()
out["magnitude_prune.B"] = magnitude_prune(Bs, w).numpy()
save("combine.safetensors", {k: v.astype(np.float32) for k, v in out.items()},
     {"generator": "make_combine_fixtures.py", "torch": torch.__version__, "density": str(density)})
