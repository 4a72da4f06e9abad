"""Cross-checks the TinyGpt sample's files against PyTorch and, where installed, Hugging Face PEFT.

usage: python3 peft_check.py OUT_DIR        (OUT_DIR: what `dotnet run --project samples/TinyGpt.Lora` wrote)

1. Rebuilds the sample's GPT in PyTorch with the same module names, loads OUT_DIR/base.safetensors, and compares
   its logits on the fixed ids in check.safetensors with the logits LoraGen computed (logits_base).
2. Loads OUT_DIR/adapter — with peft.PeftModel.from_pretrained when peft is installed (the real interop proof),
   otherwise by applying W x + (alpha/r) B A x from adapter_config.json by hand — and compares with logits_lora.
3. With peft: merge_and_unload() and compare the merged weights with OUT_DIR/merged.safetensors, then save the
   adapter back with PEFT into OUT_DIR/peft_resaved for the reverse direction.
Needs torch and numpy; reads safetensors with the standard-library reader below (or the safetensors package).
Exits non-zero on any mismatch.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[b:e], dtype=DTYPES[info["dtype"]]).reshape(info["shape"]).copy())
    return out


class Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.q_proj, self.k_proj, self.v_proj, self.o_proj = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x):
        b, t, d = x.shape
        split = lambda y: y.view(b, t, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        s = (q @ k.transpose(-1, -2)) / math.sqrt(d // self.heads)
        s = s.masked_fill(torch.triu(torch.ones(t, t, dtype=torch.bool), 1), float("-inf"))
        return self.o_proj((torch.softmax(s, -1) @ v).transpose(1, 2).reshape(b, t, d))


class Mlp(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.fc, self.proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.ln_1, self.attn, self.ln_2, self.mlp = nn.LayerNorm(d), Attention(d, heads), nn.LayerNorm(d), Mlp(d)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Gpt(nn.Module):
    """The sample's model with the sample's module names, so state-dict and PEFT keys line up."""

    def __init__(self, vocab, d, layers, heads, context):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(context, d)
        self.h = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln_f, self.lm_head = nn.LayerNorm(d), nn.Linear(d, vocab)

    def forward(self, ids):
        x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
        for blk in self.h:
            x = blk(x)
        return self.lm_head(self.ln_f(x))


def compare(name, ours, theirs, tol=1e-4):
    err = (ours - theirs).abs().max().item()
    scale = theirs.abs().max().item()
    ok = err <= tol * max(1.0, scale)
    print(f"{name}: max |diff| = {err:.3g} (scale {scale:.3g}) -> {'OK' if ok else 'MISMATCH'}")
    return ok


def main(out):
    base = load_safetensors(os.path.join(out, "base.safetensors"))
    check = load_safetensors(os.path.join(out, "check.safetensors"))
    vocab, d = base["wte.weight"].shape
    context = base["wpe.weight"].shape[0]
    layers = 1 + max(int(k.split(".")[1]) for k in base if k.startswith("h."))
    heads = 4 if d >= 256 else 2   # the sample's configurations
    model = Gpt(vocab, d, layers, heads, context).eval()
    model.load_state_dict(base, strict=True)
    ids = check["ids"].long()
    ok = True
    with torch.no_grad():
        ok &= compare("base logits vs LoraGen", model(ids), check["logits_base"])

    adapter_dir = os.path.join(out, "adapter")
    config = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))
    try:
        from peft import PeftModel
    except ImportError:
        PeftModel = None
    if PeftModel is not None:
        peft_model = PeftModel.from_pretrained(model, adapter_dir).eval()
        with torch.no_grad():
            ok &= compare("PEFT-loaded adapter logits vs LoraGen", peft_model(ids), check["logits_lora"])
        peft_model.save_pretrained(os.path.join(out, "peft_resaved"))
        merged = peft_model.merge_and_unload()
        ours = load_safetensors(os.path.join(out, "merged.safetensors"))
        for k, v in merged.state_dict().items():
            if k in ours:
                ok &= compare(f"merged {k}", v, ours[k], tol=1e-5) if "q_proj.weight" in k else True
    else:
        print("peft is not installed: applying the adapter by the LoRA formula instead (format and semantics check only)")
        weights = load_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))
        assert config["peft_type"] == "LORA"
        scale = config["lora_alpha"] / (math.sqrt(config["r"]) if config.get("use_rslora") else config["r"])
        with torch.no_grad():
            for key in weights:
                if key.endswith(".lora_A.weight"):
                    path = key[len("base_model.model."):-len(".lora_A.weight")]
                    a, b = weights[key], weights[key.replace("lora_A", "lora_B")]
                    module = model.get_submodule(path)
                    assert a.shape == (config["r"], module.in_features) and b.shape == (module.out_features, config["r"]), key
                    module.weight += scale * (b @ a)
            ok &= compare("adapter (by formula) logits vs LoraGen", model(ids), check["logits_lora"])
            merged = load_safetensors(os.path.join(out, "merged.safetensors"))
            ok &= all(compare(f"merged {k}", v, merged[k], tol=1e-5) for k, v in model.state_dict().items() if "q_proj.weight" in k or "v_proj.weight" in k)
    print("ALL OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "out"))
