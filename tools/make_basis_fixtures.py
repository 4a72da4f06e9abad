"""Writes tests/LoraGen.Runtime.Tests/Fixtures/basis.safetensors: the PyTorch references for VeRA and NoLA
(Lora/VeraAdapter.cs, Lora/NolaAdapter.cs, Lora/TorchMt19937.cs).

Run with Debian's PyTorch 1.13 from the repository root:  /usr/bin/python3 tools/make_basis_fixtures.py

VeRA, as PEFT documents and implements it (VeraModel._init_vera_A_vera_B, vera.Linear.forward/get_delta_weight):
  * projections: g = torch.Generator(device="cpu").manual_seed(projection_prng_key); vera_A = U(-b, b) of shape
    [r, max_in] with b = sqrt(3) * sqrt(2) / sqrt(fan_in) (fan_in = max_in), then vera_B [max_out, r] the same way
    (fan_in = r) from the same generator;
  * a layer [out, in] slices A[:, :in] and B[:out, :]; y = x W^T + lambda_b * ((lambda_d * (x A^T)) B^T);
  * delta W = (lambda_b[:, None] * B) @ (lambda_d[:, None] * A); no alpha scaling.
NoLA (LoraGen's definition, docs/nola-format.md): A = sum_i alpha_i A_i, B = sum_j beta_j B_j, y = x W^T + s (x A^T) B^T.
The NoLA bases come from LoraGen's own generator; here they are random data saved in the fixture.
"""
import math
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "LoraGen.Runtime.Tests", "Fixtures")
sys.path.insert(0, FIXTURES)
from safetensors_min import save  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vera_reference import kaiming, np32, projections  # noqa: E402,F401


out = {}
# Projections, bit for bit: two seeds, one of them large enough to pass MT19937's 624-word refill several times.
for seed, r, max_in, max_out in [(0, 4, 12, 10), (123456789, 16, 300, 200)]:
    a, b = projections(seed, r, max_in, max_out)
    out[f"proj.{seed}.A"] = np32(a)
    out[f"proj.{seed}.B"] = np32(b)

# VeRA forward/backward on two layers of different shapes sharing one projection (r 4, max_in 12, max_out 10).
torch.manual_seed(7)
A, B = projections(0, 4, 12, 10)
for name, (o, i) in {"q": (10, 12), "v": (6, 5)}.items():
    w = torch.randn(o, i)
    x = torch.randn(3, i)
    lb = torch.randn(o, requires_grad=True)
    ld = torch.randn(4, requires_grad=True)
    sa, sb = A[:, :i], B[:o, :]
    y = x @ w.t() + lb * ((ld * (x @ sa.t())) @ sb.t())
    g = torch.randn(3, o)
    (y * g).sum().backward()
    delta = (lb[:, None] * sb) @ (ld[:, None] * sa)
    for k, v in {"w": w, "x": x, "lambda_b": lb, "lambda_d": ld, "y": y, "g": g, "grad_lambda_b": lb.grad,
                 "grad_lambda_d": ld.grad, "delta": delta}.items():
        out[f"vera.{name}.{k}"] = np32(v)

# NoLA forward/backward: k_A 5, k_B 3, r 4, layer [6, 7], scaling 2.0.
torch.manual_seed(11)
ka, kb, r, o, i, s = 5, 3, 4, 6, 7, 2.0
bases_a = torch.randn(ka, r * i)
bases_b = torch.randn(kb, o * r)
alpha = torch.randn(ka, requires_grad=True)
beta = torch.randn(kb, requires_grad=True)
w = torch.randn(o, i)
x = torch.randn(2, 3, i)
a = (alpha[None, :] @ bases_a).reshape(r, i)
b = (beta[None, :] @ bases_b).reshape(o, r)
y = x @ w.t() + s * ((x @ a.t()) @ b.t())
g = torch.randn(2, 3, o)
(y * g).sum().backward()
for k, v in {"bases_a": bases_a, "bases_b": bases_b, "alpha": alpha, "beta": beta, "w": w, "x": x, "y": y, "g": g,
             "grad_alpha": alpha.grad, "grad_beta": beta.grad, "delta": s * (b @ a)}.items():
    out[f"nola.{k}"] = np32(v)

save(os.path.join(FIXTURES, "basis.safetensors"), out, {"torch": torch.__version__})
print(f"wrote {len(out)} tensors")
