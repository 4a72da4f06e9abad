"""Writes ops.safetensors: inputs, outputs and gradients of every runtime op, computed by PyTorch in float64.

Run with Debian's PyTorch:  /usr/bin/python3 make_fixtures.py   (from this folder)
Each case `c` stores c.in0, c.in1, ... (float32 inputs), c.out (output), c.gout (upstream gradient) and
c.grad0, c.grad1, ... (gradients of the inputs). Integer arguments (ids, targets) are stored as F32.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

from safetensors_min import save

torch.manual_seed(1234)
out = {}


def rand(*shape, scale=1.0):
    return (torch.randn(*shape, dtype=torch.float32) * scale)


def case(name, fn, inputs, extra=None):
    """inputs: float32 tensors; fn maps float64 leaf tensors to the output."""
    leaves = [x.double().requires_grad_(True) for x in inputs]
    y = fn(*leaves)
    gout = rand(*y.shape) if y.dim() > 0 else torch.tensor(1.3)
    y.backward(gout.double())
    for i, x in enumerate(inputs):
        out[f"{name}.in{i}"] = x.numpy()
        out[f"{name}.grad{i}"] = leaves[i].grad.float().numpy()
    out[f"{name}.out"] = y.detach().float().numpy().reshape(y.shape)
    out[f"{name}.gout"] = gout.float().numpy()
    for k, v in (extra or {}).items():
        out[f"{name}.{k}"] = np.asarray(v, dtype=np.float32)


# matmul: batched, transposes, shared 2-D b, long reduction
case("matmul", lambda a, b: a @ b, [rand(2, 3, 5, 4), rand(2, 3, 4, 6)])
case("matmul_ta", lambda a, b: a.transpose(-1, -2) @ b, [rand(2, 4, 5), rand(2, 4, 6)])
case("matmul_tb", lambda a, b: a @ b.transpose(-1, -2), [rand(2, 5, 4), rand(2, 6, 4)])
case("matmul_shared", lambda a, b: a @ b, [rand(3, 7, 5), rand(5, 9)])
case("matmul_shared_tb", lambda a, b: a @ b.t(), [rand(3, 7, 5), rand(9, 5)])
case("matmul_long", lambda a, b: a @ b, [rand(33, 700), rand(700, 37)])
case("linear", lambda x, w, b: F.linear(x, w, b), [rand(2, 5, 7), rand(6, 7), rand(6)])
case("linear_nobias", lambda x, w: F.linear(x, w), [rand(4, 19), rand(23, 19)])
case("linear_big", lambda x, w, b: F.linear(x, w, b), [rand(67, 130), rand(45, 130), rand(45)])
# element-wise with trailing broadcast
case("add", lambda a, b: a + b, [rand(2, 3, 4), rand(4)])
case("sub", lambda a, b: a - b, [rand(2, 3, 4), rand(3, 4)])
case("mul", lambda a, b: a * b, [rand(2, 3, 4), rand(4)])
case("mul_same", lambda a, b: a * b, [rand(3, 5), rand(3, 5)])
case("scale", lambda a: a * 0.37, [rand(3, 5)])
case("sum", lambda a: a.sum(), [rand(4, 6)])
case("mean", lambda a: a.mean(), [rand(4, 6)])
case("sum_long", lambda a: a.sum(), [rand(40, 500)])
case("sum_last", lambda a: a.sum(-1), [rand(3, 4, 6)])
# activations over a wide range
act_x = lambda: torch.linspace(-6, 6, 97).reshape(1, 97) + rand(3, 97, scale=0.1)
case("relu", F.relu, [act_x()])
case("gelu", lambda a: F.gelu(a), [act_x()])
case("gelu_tanh", lambda a: F.gelu(a, approximate="tanh"), [act_x()])
case("silu", F.silu, [act_x()])
case("softmax", lambda a: F.softmax(a, -1), [rand(3, 4, 11, scale=3)])
case("log_softmax", lambda a: F.log_softmax(a, -1), [rand(3, 4, 11, scale=3)])
case("layer_norm", lambda x, w, b: F.layer_norm(x, (16,), w, b, 1e-5), [rand(2, 3, 16, scale=2) + 0.5, rand(16), rand(16)])
case("layer_norm_nobias", lambda x, w: F.layer_norm(x, (16,), w, None, 1e-5), [rand(5, 16), rand(16)])


def rms_norm(x, w, eps=1e-6):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


case("rms_norm", rms_norm, [rand(2, 3, 16, scale=2), rand(16)])

ids = torch.tensor([[1, 4, 4, 0], [9, 2, 7, 4]])
case("embedding", lambda w: F.embedding(ids, w), [rand(10, 6)], extra={"ids": ids.numpy()})

targets = torch.tensor([3, 0, 10, -100, 7, 7])
case("cross_entropy", lambda x: F.cross_entropy(x, targets, ignore_index=-100), [rand(6, 11, scale=2)], extra={"targets": targets.numpy()})
targets3 = torch.tensor([1, 2, 0, 4, 4, 3, 2, 1])
case("cross_entropy_3d", lambda x: F.cross_entropy(x.reshape(-1, 5), targets3), [rand(2, 4, 5)], extra={"targets": targets3.numpy()})

mask = (torch.rand(4, 9) >= 0.3).float() / 0.7
case("dropout", lambda x: x * mask.double(), [rand(4, 9)], extra={"mask": mask.numpy()})

case("reshape", lambda x: x.reshape(6, 4) * torch.arange(24, dtype=torch.float64).reshape(6, 4), [rand(2, 3, 4)])
case("transpose", lambda x: x.transpose(1, 2), [rand(2, 3, 4, 5)])
case("permute", lambda x: x.permute(0, 2, 3, 1), [rand(2, 3, 4, 5)])
case("permute3", lambda x: x.permute(2, 0, 1), [rand(3, 4, 5)])
case("concat", lambda a, b: torch.cat([a, b], 1), [rand(2, 3, 4), rand(2, 2, 4)])
case("split", lambda x: torch.cat([p * (i + 1) for i, p in enumerate(torch.split(x, [2, 3], 1))], 1), [rand(2, 5, 4)])


def sdpa(q, k, v, causal=True):
    d = q.shape[-1]
    s = q @ k.transpose(-1, -2) / math.sqrt(d)
    if causal:
        t = q.shape[-2]
        s = s.masked_fill(torch.triu(torch.ones(t, t, dtype=torch.bool), 1), float("-inf"))
    return torch.softmax(s, -1) @ v


case("attention", lambda q, k, v: sdpa(q, k, v), [rand(2, 3, 7, 4), rand(2, 3, 7, 4), rand(2, 3, 7, 4)])
case("attention_full", lambda q, k, v: sdpa(q, k, v, causal=False), [rand(1, 2, 5, 8), rand(1, 2, 5, 8), rand(1, 2, 5, 8)])
# T = 70 spans three 32-row blocks of the causal kernel, the last one partial.
case("attention_long", lambda q, k, v: sdpa(q, k, v), [rand(2, 2, 70, 8), rand(2, 2, 70, 8), rand(2, 2, 70, 8)])


def mha(q, k, v, heads, causal=True):
    """Multi-head attention on [B, T, C] projections: heads are column groups, as reshape + permute would split them."""
    b, t, c = q.shape
    split = lambda x: x.reshape(b, t, heads, c // heads).permute(0, 2, 1, 3)
    return sdpa(split(q), split(k), split(v), causal).permute(0, 2, 1, 3).reshape(b, t, c)


# T = 37 is not a multiple of the 32-row block; 3 heads of 5 (odd sizes).
case("mha", lambda q, k, v: mha(q, k, v, 3), [rand(2, 37, 15), rand(2, 37, 15), rand(2, 37, 15)])
case("mha_full", lambda q, k, v: mha(q, k, v, 2, causal=False), [rand(1, 41, 6), rand(1, 41, 6), rand(1, 41, 6)])
case("mha_self", lambda x: mha(x, x, x, 2), [rand(2, 9, 8)])
# GELU (tanh) over 3·37 values: whole 16- and 8-wide vectors and a scalar tail; |x| up to ~20 reaches the saturated ends.
case("gelu_tanh_wide", lambda a: F.gelu(a, approximate="tanh"), [rand(3, 37, scale=6.0)])

save("ops.safetensors", out, {"generator": "make_fixtures.py", "torch": torch.__version__})
print(f"wrote ops.safetensors with {len(out)} tensors")
