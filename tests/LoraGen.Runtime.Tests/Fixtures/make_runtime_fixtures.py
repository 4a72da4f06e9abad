"""Writes optim.safetensors (AdamW, SGD and grad-clip parity) and formats.safetensors (dtypes written by Python).

Run with Debian's PyTorch:  /usr/bin/python3 make_runtime_fixtures.py   (from this folder)
"""
import numpy as np
import torch

from safetensors_min import bf16, save

torch.manual_seed(4321)
out = {}

# AdamW with two parameter groups over 100 steps of given gradients.
p1, p2 = torch.randn(4, 5), torch.randn(7)
out["adamw.p1.init"], out["adamw.p2.init"] = p1.numpy().copy(), p2.numpy().copy()
g1, g2 = torch.randn(100, 4, 5), torch.randn(100, 7) * 3
out["adamw.p1.grads"], out["adamw.p2.grads"] = g1.numpy(), g2.numpy()
a, b = p1.clone().requires_grad_(), p2.clone().requires_grad_()
opt = torch.optim.AdamW([{"params": [a], "lr": 1e-2, "weight_decay": 0.1},
                         {"params": [b], "lr": 3e-2, "weight_decay": 0.0}], betas=(0.9, 0.999), eps=1e-8)
for t in range(100):
    a.grad, b.grad = g1[t].clone(), g2[t].clone()
    opt.step()
out["adamw.p1.final"], out["adamw.p2.final"] = a.detach().numpy(), b.detach().numpy()

# SGD with momentum, dampening 0.1 and weight decay.
p = torch.randn(3, 4)
out["sgd.p.init"] = p.numpy().copy()
g = torch.randn(50, 3, 4)
out["sgd.p.grads"] = g.numpy()
w = p.clone().requires_grad_()
opt = torch.optim.SGD([w], lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)
for t in range(50):
    w.grad = g[t].clone()
    opt.step()
out["sgd.p.final"] = w.detach().numpy()

# Gradient clipping by global norm.
c1, c2 = torch.randn(5, 3).requires_grad_(), torch.randn(4).requires_grad_()
c1.grad, c2.grad = torch.randn(5, 3) * 2, torch.randn(4) * 2
out["clip.g1"], out["clip.g2"] = c1.grad.numpy().copy(), c2.grad.numpy().copy()
norm = torch.nn.utils.clip_grad_norm_([c1, c2], max_norm=1.5)
out["clip.norm"] = np.array(norm.item(), dtype=np.float32)
out["clip.g1.clipped"], out["clip.g2.clipped"] = c1.grad.numpy(), c2.grad.numpy()
save("optim.safetensors", out, {"generator": "make_runtime_fixtures.py", "torch": torch.__version__})

# Every dtype the reader converts, with the float32 values they should read as.
v = (torch.randn(2, 3) * 10).numpy()
fmt = {
    "f32": v,
    "f16": v.astype(np.float16),
    "f16.expected": v.astype(np.float16).astype(np.float32),
    "bf16": bf16(v),
    "f64": v.astype(np.float64),
    "i64": np.array([[-3, 0, 7], [1, 2, 3]], dtype=np.int64),
    "u8": np.array([0, 1, 255], dtype=np.uint8),
    "scalar": np.array(2.5, dtype=np.float32),
}
bf_bits = bf16(v)[1].astype(np.uint32) << 16
fmt["bf16.expected"] = bf_bits.view(np.float32)
save("formats.safetensors", fmt, {"format": "pt", "note": "ünïcode ✓ \"quoted\""})
print("wrote optim.safetensors and formats.safetensors")
