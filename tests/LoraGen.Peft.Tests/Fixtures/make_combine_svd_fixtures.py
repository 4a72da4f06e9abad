"""Writes combine_svd.safetensors: PEFT's ties_svd and magnitude_prune_svd combinations of three LoRA adapters of
one layer, with different ranks (the *_svd types allow that).

Run with Debian's PyTorch:  /usr/bin/python3 make_combine_svd_fixtures.py   (from this folder; uses the runtime tests'
safetensors_min.py). Written from PEFT's documented add_weighted_adapter behaviour for the *_svd types: each adapter's
delta weight dW_i = scaling_i * B_i @ A_i is formed; the named merge runs on the dense dW_i (trim each to its
int(density * n) largest |x|; for ties elect each element's sign from the trimmed, unweighted dW_i — "total": sign of
their sum, "frequency": sign of the sum of signs, ties to + — and average the weighted values that agree); then
torch.linalg.svd of the merged dW, lora_B = U[:, :k] @ diag(S[:k]) and lora_A = Vh[:k]. Weights enter once
(weight_i; LoraGen's convention for every svd type). The SVD's signs are arbitrary, so the fixture stores the
rank-k product B @ A, which is unique when sigma_k > sigma_k+1.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "LoraGen.Runtime.Tests", "Fixtures"))
from safetensors_min import save  # noqa: E402

torch.manual_seed(1313)
ranks, n_in, n_out = [2, 3, 2], 7, 6
As = [torch.randn(r, n_in) for r in ranks]
Bs = [torch.randn(n_out, r) for r in ranks]
scalings = [2.0, 1.0, 0.5]
weights = [0.6, -0.3, 1.2]
density = 0.5
k = 3


def trim(t):
    n = int(density * t.numel())
    flat = t.reshape(-1)
    mask = torch.zeros_like(flat)
    mask[torch.topk(flat.abs(), k=n, largest=True)[1]] = 1
    return (flat * mask).reshape(t.shape)


def elect(stacked, method):
    sign = stacked.sign()
    mag = stacked.sum(dim=0) if method == "total" else sign.sum(dim=0)
    return sign == torch.where(mag >= 0, 1.0, -1.0)


def ties(ts, w, method):
    s = torch.stack([trim(t) for t in ts])
    mask = elect(s, method)
    weighted = s * w.view(-1, 1, 1)
    return (weighted * mask).sum(0) / torch.clamp(mask.sum(0), min=1.0)


def magnitude_prune(ts, w):
    s = torch.stack([trim(t) for t in ts])
    return (s * w.view(-1, 1, 1)).sum(0)


def rank_k(dw):
    u, s, vh = torch.linalg.svd(dw.double(), full_matrices=True)
    b = u[:, :k] @ torch.diag(s[:k])
    a = vh[:k, :]
    assert s[k - 1] > 1.01 * s[k], "sigma_k must be separated for a unique rank-k product"
    return (b @ a).float()


deltas = [sc * (b @ a) for a, b, sc in zip(As, Bs, scalings)]
w = torch.tensor(weights)
out = {}
for i in range(3):
    out[f"A{i}"], out[f"B{i}"] = As[i].numpy(), Bs[i].numpy()
out["scalings"] = np.array(scalings, dtype=np.float32)
out["weights"] = np.array(weights, dtype=np.float32)
out["ranks"] = np.array(ranks, dtype=np.float32)
for method in ["total", "frequency"]:
    out[f"ties_svd.{method}.BA"] = rank_k(ties(deltas, w, method)).numpy()
out["magnitude_prune_svd.BA"] = rank_k(magnitude_prune(deltas, w)).numpy()
save("combine_svd.safetensors", {key: v.astype(np.float32) for key, v in out.items()},
     {"generator": "make_combine_svd_fixtures.py", "torch": torch.__version__, "density": str(density), "k": str(k)})
