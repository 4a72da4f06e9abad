"""Writes tests/LoraGen.Cli.Tests/PyTorch/vera_merge/: a base checkpoint, a VeRA adapter in PEFT's layout saved without
its projections (save_projection false, so `loragen merge` must regenerate them from projection_prng_key) and the
merged weights PyTorch computes, for `loragen merge` (src/LoraGen.Cli/Cli/MergeCommand.cs).

Run with Debian's PyTorch 1.13 from the repository root:  /usr/bin/python3 tools/make_cli_vera_merge_fixture.py

VeRA as PEFT documents and implements it (VeraModel._init_vera_A_vera_B, vera.Linear.get_delta_weight):
  * projections: g = torch.Generator(device="cpu").manual_seed(projection_prng_key); vera_A = U(-b, b) of shape
    [r, max_in] with b = sqrt(3) * sqrt(2) / sqrt(fan_in) (fan_in = max_in), then vera_B [max_out, r] the same way
    (fan_in = r) from the same generator; max_in / max_out over the adapted layers;
  * a layer [out, in] slices A[:, :in] and B[:out, :]; delta W = (lambda_b[:, None] * B) @ (lambda_d[:, None] * A),
    no alpha scaling; merged W = W + delta W.
Two Linear layers of different shapes share the projection (q [10, 12] sets max_in and max_out; v [6, 5] is sliced),
and a third, c_attn, is stored as GPT-2's Conv1D [in, out] in a second file with fan_in_fan_out (merged W + delta W^T).
"""
import json
import math
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "LoraGen.Cli.Tests", "PyTorch", "vera_merge")
sys.path.insert(0, os.path.join(ROOT, "tests", "LoraGen.Runtime.Tests", "Fixtures"))
from safetensors_min import save  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vera_reference import kaiming, np32, projections  # noqa: E402,F401

SEED, R, D_INITIAL = 20240601, 4, 0.1
PREFIX = "base_model.model."


def config(targets, fan_in_fan_out):
    # The fields PEFT 0.13+ writes for a VeraConfig (sorted, indent 2), with save_projection false.
    return {
        "auto_mapping": None,
        "base_model_name_or_path": "tiny",
        "bias": "none",
        "d_initial": D_INITIAL,
        "fan_in_fan_out": fan_in_fan_out,
        "inference_mode": True,
        "init_weights": True,
        "layers_pattern": None,
        "layers_to_transform": None,
        "modules_to_save": None,
        "peft_type": "VERA",
        "projection_prng_key": SEED,
        "r": R,
        "revision": None,
        "save_projection": False,
        "target_modules": targets,
        "task_type": None,
        "vera_dropout": 0.0,
    }


def write_case(name, layers, fan_in_fan_out):
    """layers: {module path: (out, in)}; weights stored [in, out] when fan_in_fan_out."""
    d = os.path.join(OUT, name)
    os.makedirs(os.path.join(d, "adapter"), exist_ok=True)
    max_in = max(i for o, i in layers.values())
    max_out = max(o for o, i in layers.values())
    a, b = projections(SEED, R, max_in, max_out)
    base, adapter, merged = {}, {}, {}
    for path, (o, i) in layers.items():
        w = torch.randn(o, i)
        lb = torch.randn(o)
        ld = torch.randn(R)
        delta = (lb[:, None] * b[:o, :]) @ (ld[:, None] * a[:, :i])
        stored = w.t().contiguous() if fan_in_fan_out else w
        stored_delta = delta.t() if fan_in_fan_out else delta
        base[path + ".weight"] = np32(stored)
        base[path + ".bias"] = np32(torch.randn(o))
        merged[path + ".weight"] = np32(stored + stored_delta)
        merged[path + ".delta"] = np32(stored_delta)
        adapter[PREFIX + path + ".vera_lambda_b"] = np32(lb)
        adapter[PREFIX + path + ".vera_lambda_d"] = np32(ld)
    save(os.path.join(d, "model.safetensors"), base, {"format": "pt"})
    save(os.path.join(d, "adapter", "adapter_model.safetensors"), adapter, {"format": "pt"})
    save(os.path.join(d, "expected.safetensors"), merged, {"torch": torch.__version__})
    targets = sorted({p.rsplit(".", 1)[-1] for p in layers})
    with open(os.path.join(d, "adapter", "adapter_config.json"), "w") as f:
        json.dump(config(targets, fan_in_fan_out), f, indent=2, sort_keys=True)


torch.manual_seed(3)
write_case("linear", {"model.layers.0.self_attn.q_proj": (10, 12), "model.layers.0.self_attn.v_proj": (6, 5)}, False)
write_case("conv1d", {"transformer.h.0.attn.c_attn": (9, 3), "transformer.h.0.mlp.c_fc": (5, 7)}, True)
print("wrote", OUT)
