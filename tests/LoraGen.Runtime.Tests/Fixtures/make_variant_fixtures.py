"""Writes variants.safetensors: DoRA forward/backward/merge references for the LoRA-variant tests.

Run with Debian's PyTorch:  /usr/bin/python3 make_variant_fixtures.py   (from this folder)

The formulas are written from the DoRA paper (Liu et al. 2024) and PEFT's documented behaviour, in float64:
W' = m * (W + s*B@A) / ||W + s*B@A||, the norm per output feature (each row of a Linear weight [out, in]; each
embedding dimension, i.e. column, of an Embedding weight [num, dim]), detached (a constant in backward). A Linear
layer's output is base(x) + (k - 1) * (x @ W.T) + k * s * (x @ A.T @ B.T) with k = m / norm; an Embedding's is
k * (W[ids] + s * A.T[ids] @ B.T).
"""
import numpy as np
import torch

from safetensors_min import save

torch.manual_seed(2024)
torch.set_default_dtype(torch.float64)
out = {}


def f32(t):
    return t.detach().numpy().astype(np.float32)


# ---- Linear DoRA: W [6, 8], b [6], A [4, 8], B [6, 4], m [6], s = alpha / r = 8 / 4.
W, bias = torch.randn(6, 8) * 0.4, torch.randn(6) * 0.1
A, B = (torch.randn(4, 8) * 0.3).requires_grad_(), (torch.randn(6, 4) * 0.3).requires_grad_()
s = 2.0
m0 = torch.linalg.norm(W + s * B.detach() @ A.detach(), dim=1)
m = (m0 * (1 + 0.2 * torch.randn(6))).requires_grad_()
x = torch.randn(3, 5, 8).requires_grad_()
g = torch.randn(3, 5, 6)
norm = torch.linalg.norm(W + s * B @ A, dim=1).detach()
k = m / norm
y = x @ W.T + bias + (k - 1) * (x @ W.T) + k * s * (x @ A.T @ B.T)
(y * g).sum().backward()
for name, t in {"W": W, "b": bias, "A": A, "B": B, "m": m, "m0": m0, "x": x, "g": g, "y": y}.items():
    out[f"dora.linear.{name}"] = f32(t)
for name, t in {"A": A, "B": B, "m": m, "x": x}.items():
    out[f"dora.linear.grad.{name}"] = f32(t.grad)
merged = (m / torch.linalg.norm(W + s * B @ A, dim=1)).view(-1, 1) * (W + s * B @ A)
out["dora.linear.merged"] = f32(merged)

# ---- Embedding DoRA: W [10, 6], A [4, 10], B [6, 4], m [6] (one per embedding dimension), s = 4 / 4.
E = torch.randn(10, 6)
EA, EB = (torch.randn(4, 10) * 0.3).requires_grad_(), (torch.randn(6, 4) * 0.3).requires_grad_()
es = 1.0
em0 = torch.linalg.norm(E + es * (EB.detach() @ EA.detach()).T, dim=0)
em = (em0 * (1 + 0.2 * torch.randn(6))).requires_grad_()
ids = torch.tensor([[1, 4, 9], [0, 4, 7]])
eg = torch.randn(2, 3, 6)
enorm = torch.linalg.norm(E + es * (EB @ EA).T, dim=0).detach()
ek = em / enorm
ey = ek * (E[ids] + es * (EA.T[ids] @ EB.T))
(ey * eg).sum().backward()
for name, t in {"W": E, "A": EA, "B": EB, "m": em, "m0": em0, "g": eg, "y": ey}.items():
    out[f"dora.embedding.{name}"] = f32(t)
out["dora.embedding.ids"] = ids.numpy().astype(np.int64)
for name, t in {"A": EA, "B": EB, "m": em}.items():
    out[f"dora.embedding.grad.{name}"] = f32(t.grad)
out["dora.embedding.merged"] = f32((em / torch.linalg.norm(E + es * (EB @ EA).T, dim=0)).view(1, -1) * (E + es * (EB @ EA).T))

save("variants.safetensors", out, {"generator": "make_variant_fixtures.py", "torch": torch.__version__})

# ---- PiSSA and OLoRA initialisation of a Linear weight W [6, 8], r = 3, s = alpha / r = 6 / 3 (PEFT's pissa_init and
# olora_init): PiSSA B = U_r diag(sqrt(S_r / s)), A = diag(sqrt(S_r / s)) V_r^T; OLoRA W = QR, B = Q[:, :r], A = R[:r];
# either way W_res = W - s * B @ A. (Singular vectors and QR columns are defined up to sign: compare B @ A, W_res.)
torch.manual_seed(7)
PW = torch.randn(6, 8)
pr, ps = 3, 2.0
U, S, Vh = torch.linalg.svd(PW, full_matrices=False)
pA = torch.diag(torch.sqrt(S[:pr] / ps)) @ Vh[:pr]
pB = U[:, :pr] @ torch.diag(torch.sqrt(S[:pr] / ps))
Q, R = torch.linalg.qr(PW)
oA, oB = R[:pr], Q[:, :pr]
init = {"W": PW, "pissa.A": pA, "pissa.B": pB, "pissa.BA": pB @ pA, "pissa.Wres": PW - ps * pB @ pA,
        "olora.A": oA, "olora.B": oB, "olora.BA": oB @ oA, "olora.Wres": PW - ps * oB @ oA}
init_out = {f"init.{k}": f32(v) for k, v in init.items()}
save("variants_init.safetensors", init_out, {"generator": "make_variant_fixtures.py", "torch": torch.__version__})
