#!/usr/bin/python3
"""Writes tests/LoraGen.Models.Tests/Fixtures/rope/rope_scaling.json: RoPE inverse frequencies, attention factors and a
few cos/sin rows for Llama configs with the `dynamic` and `yarn` rope_scaling types.

Run with Debian's PyTorch 1.13 (transformers is not needed):

    /usr/bin/python3 tools/make_rope_fixtures.py tests/LoraGen.Models.Tests/Fixtures/rope

The formulas are transformers' (modeling_rope_utils: dynamic NTK and YaRN), written here from their definitions.
inv_freq follows transformers' dtype path (float32 exponents and ramp); the cos/sin rows come from the same formulas in
float64 (θ rounded to float32 and times position 1000 is off by ~1e-5, more than the test's tolerance). Deterministic: the same bytes each run.
"""
import json
import math
import os
import sys

import torch


def default_inv(theta, dim, dtype):
    return 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.int64).to(dtype) / dim))


def dynamic_inv(cfg, seq_len, dtype):
    dim = cfg["hidden_size"] // cfg["num_attention_heads"]
    m, factor = cfg["max_position_embeddings"], cfg["rope_scaling"]["factor"]
    seq = seq_len if seq_len is not None and seq_len > m else m
    theta = cfg["rope_theta"] * ((factor * seq / m) - (factor - 1)) ** (dim / (dim - 2))
    return default_inv(theta, dim, dtype), 1.0


def yarn_inv(cfg, dtype):
    rs = cfg["rope_scaling"]
    dim = cfg["hidden_size"] // cfg["num_attention_heads"]
    theta, factor = cfg["rope_theta"], rs["factor"]
    original = rs.get("original_max_position_embeddings") or cfg["max_position_embeddings"]

    def mscale(scale, m=1.0):
        return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0

    attention = rs.get("attention_factor")
    if attention is None:
        if rs.get("mscale") and rs.get("mscale_all_dim"):
            attention = mscale(factor, rs["mscale"]) / mscale(factor, rs["mscale_all_dim"])
        else:
            attention = mscale(factor)
    fast, slow = rs.get("beta_fast") or 32, rs.get("beta_slow") or 1

    def index_turning(n):   # the dimension index that turns n times over the original context
        return dim * math.log(original / (n * 2 * math.pi)) / (2 * math.log(theta))

    low, high = index_turning(fast), index_turning(slow)
    if rs.get("truncate", True):
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001
    ramp = torch.clamp((torch.arange(dim // 2, dtype=dtype) - low) / (high - low), 0, 1)
    extrapolated = 1.0 / (theta ** (torch.arange(0, dim, 2).to(dtype) / dim))
    interpolated = extrapolated / factor
    return interpolated * ramp + extrapolated * (1 - ramp), float(attention)


def llama(rope_scaling, hidden=256, heads=4, max_pos=4096, theta=10000.0):
    return {"model_type": "llama", "vocab_size": 32, "hidden_size": hidden, "intermediate_size": 64,
            "num_hidden_layers": 1, "num_attention_heads": heads, "num_key_value_heads": heads,
            "max_position_embeddings": max_pos, "rope_theta": theta, "rope_scaling": rope_scaling}


CASES = [
    ("yarn_factor4", llama({"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 1024}), None),
    ("yarn_no_original", llama({"rope_type": "yarn", "factor": 8.0}, hidden=128, heads=2, max_pos=2048, theta=500000.0), None),
    ("yarn_betas_attention_untruncated", llama({"rope_type": "yarn", "factor": 2.5, "beta_fast": 16, "beta_slow": 2,
                                                 "attention_factor": 0.9, "original_max_position_embeddings": 512,
                                                 "truncate": False}), None),
    ("yarn_mscales", llama({"type": "yarn", "factor": 40.0, "mscale": 1.0, "mscale_all_dim": 0.707,
                            "original_max_position_embeddings": 4096}, hidden=512, heads=8, max_pos=163840), None),
    ("dynamic_within", llama({"rope_type": "dynamic", "factor": 2.0}), None),
    ("dynamic_grown", llama({"rope_type": "dynamic", "factor": 2.0}, max_pos=1024), 3000),
    ("dynamic_grown_theta", llama({"type": "dynamic", "factor": 4.0}, hidden=128, heads=2, max_pos=512, theta=500000.0), 777),
]

POSITIONS = [0, 1, 7, 100, 1000]


def main(out):
    os.makedirs(out, exist_ok=True)
    cases = []
    for name, cfg, seq_len in CASES:
        kind = cfg["rope_scaling"].get("rope_type", cfg["rope_scaling"].get("type"))
        rope = (lambda dtype: dynamic_inv(cfg, seq_len, dtype)) if kind == "dynamic" else (lambda dtype: yarn_inv(cfg, dtype))
        inv, attention = rope(torch.float32)
        case = {"name": name, "config": cfg, "seq_len": seq_len, "inv_freq": [float(v) for v in inv],
                "attention_factor": attention}
        if seq_len is None:   # cos/sin rows of the tables LoraGen builds (up to max_position_embeddings)
            inv64, _ = rope(torch.float64)
            case["positions"] = POSITIONS
            case["cos"] = [[float(v) for v in torch.cos(p * inv64) * attention] for p in POSITIONS]
            case["sin"] = [[float(v) for v in torch.sin(p * inv64) * attention] for p in POSITIONS]
        cases.append(case)
    with open(os.path.join(out, "rope_scaling.json"), "w", encoding="utf-8") as f:
        json.dump({"cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/LoraGen.Models.Tests/Fixtures/rope")
