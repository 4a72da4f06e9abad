"""PyTorch side of `tinygpt-vs-torch`: the sample's TinyGpt (vocab 96, d 256, 4 layers, 4 heads, seq 128) in
PyTorch, 2 threads. LoRA (r = 8, alpha = 16 on q and v) is written out by hand: frozen base weights plus A/B
parameters, as PEFT computes it (peft is not installed here). Prints key=value lines.

usage: /usr/bin/python3 tinygpt.py lora|full|forward
"""
import math
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)
torch.manual_seed(0)
V, D, L, H, T, B = 96, 256, 4, 4, 128, 16


class LoraLinear(nn.Linear):
    def __init__(self, i, o, r=0, alpha=16):
        super().__init__(i, o)
        self.r = r
        if r:
            self.lora_A = nn.Parameter(torch.empty(r, i))
            nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
            self.lora_B = nn.Parameter(torch.zeros(o, r))
            self.scaling = alpha / r
        self.merged = False

    def forward(self, x):
        y = F.linear(x, self.weight, self.bias)
        if self.r and not self.merged:
            y = y + (x @ self.lora_A.t() @ self.lora_B.t()) * self.scaling
        return y

    def merge(self):
        if self.r and not self.merged:
            self.weight.data += (self.lora_B @ self.lora_A) * self.scaling
            self.merged = True


class Block(nn.Module):
    def __init__(self, r):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.q_proj, self.v_proj = LoraLinear(D, D, r), LoraLinear(D, D, r)
        self.k_proj, self.o_proj = nn.Linear(D, D), nn.Linear(D, D)
        self.fc, self.proj = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)
        self.register_buffer("mask", torch.triu(torch.ones(T, T, dtype=torch.bool), 1))

    def attn(self, x):
        b, t, _ = x.shape
        split = lambda y: y.view(b, t, H, D // H).transpose(1, 2)
        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        s = (q @ k.transpose(-1, -2)) / math.sqrt(D // H)
        s = s.masked_fill(self.mask[:t, :t], float("-inf"))
        y = torch.softmax(s, -1) @ v
        return self.o_proj(y.transpose(1, 2).reshape(b, t, D))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.proj(F.gelu(self.fc(self.ln_2(x)), approximate="tanh"))


class Gpt(nn.Module):
    def __init__(self, r):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, D), nn.Embedding(T, D)
        self.h = nn.ModuleList(Block(r) for _ in range(L))
        self.ln_f, self.lm_head = nn.LayerNorm(D), nn.Linear(D, V)

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for blk in self.h:
            x = blk(x)
        return self.lm_head(self.ln_f(x))


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


mode = sys.argv[1] if len(sys.argv) > 1 else "lora"
print(f"version={torch.__version__}")
if mode in ("lora", "full"):
    model = Gpt(8 if mode == "lora" else 0)
    if mode == "lora":
        for n, p in model.named_parameters():
            p.requires_grad = "lora_" in n
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=2e-4)
    x = torch.randint(0, V, (B, T))
    y = torch.randint(0, V, (B, T))
    times = []
    for i in range(13):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(model(x).view(-1, V), y.view(-1))
        loss.backward()
        opt.step()
        if i >= 3:
            times.append(time.perf_counter() - t0)
    print(f"step_ms={median(times) * 1e3:.1f}")
else:
    model = Gpt(8).eval()
    for blk in model.h:
        torch.nn.init.normal_(blk.q_proj.lora_B, std=0.02)
        torch.nn.init.normal_(blk.v_proj.lora_B, std=0.02)
    x = torch.randint(0, V, (1, T))
    # Three instances with the same base weights, timed interleaved (as on the LoraGen side).
    plain, unmerged, merged = Gpt(8).eval(), model, Gpt(8).eval()
    plain.load_state_dict(model.state_dict())
    merged.load_state_dict(model.state_dict())
    for blk in plain.h:
        blk.q_proj.merged = blk.v_proj.merged = True   # adapter path skipped: the base model
    for blk in merged.h:
        blk.q_proj.merge()
        blk.v_proj.merge()
    models = {"base": plain, "unmerged": unmerged, "merged": merged}
    times = {k: [] for k in models}
    with torch.no_grad():
        for i in range(300):
            for k, m in models.items():
                t0 = time.perf_counter()
                m(x)
                if i >= 50:
                    times[k].append(time.perf_counter() - t0)
    for k in models:
        print(f"forward_{k}_ms={median(times[k]) * 1e3:.2f}")
print(f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
