#!/usr/bin/env python3
"""Parity of LoraGen's Hugging Face families with transformers and PEFT themselves.

Needs a machine with torch, transformers, peft and safetensors, and a built `loragen` (the CLI):

    python tools/hf_parity.py --loragen "dotnet src/LoraGen.Cli/bin/Release/net10.0/loragen.dll" --work /tmp/hf-parity

For GPT-2 and Llama (2 layers, d 64, GQA 4:2, vocab 300, llama3 rope scaling for one Llama) it
1. builds the model with transformers (random init, seeded), saves it with save_pretrained (safetensors);
2. compares transformers' logits with `loragen logits` for prompts of several lengths (≤ 1e-5);
3. trains a PEFT LoRA adapter for a few steps, saves it, and compares PEFT's logits with `loragen logits --adapter`;
4. fine-tunes with `loragen finetune`, loads that adapter into PEFT (PeftModel.from_pretrained) and compares logits
   with `loragen logits --adapter` again, and checks that `--merge`'s directory loads in transformers with the same
   logits.
Then the LoRA variants (issue 13), on the Llama model, each made by PEFT itself so that a misreading of the papers shared
by LoraGen and its own PyTorch fixtures cannot pass:
5. DoRA (use_dora=True, trained a few steps so that m, A and B all move): `loragen logits --adapter` vs PEFT;
6. PiSSA, PiSSA with pissa_niter_4, and OLoRA: trained a few steps on PEFT's residual base, saved with PEFT's
   path_initial_model_for_weight_conversion (a plain LoRA adapter on the untouched base), loaded here on the untouched
   base vs PEFT's logits;
7. ties and dare_linear (PEFT's add_weighted_adapter of two trained adapters): PEFT's result loaded here vs PEFT;
   `loragen combine` of the same two adapters loaded into PEFT vs `loragen logits` of it; and for ties, which is
   deterministic, LoraGen's combination vs PEFT's own (dare drops at random, so only the loading is compared);
8. with --sample (a command running samples/TinyGpt.Lora), LoraGen's own DoRA, PiSSA and OLoRA adapters loaded into
   PEFT: the sample writes them with --method dora|pissa|olora --quick, and tests/interop/peft_check.py loads each
   with PeftModel.from_pretrained and compares logits and merged weights (the CLI's finetune has no variant options
   yet, so an HF-layout LoraGen DoRA/PiSSA/OLoRA adapter cannot be made from here).
9. VeRA made by PEFT (save_projection true, and false so that the projections are regenerated here from
   projection_prng_key), and with --sample LoraGen's own VeRA adapter in PEFT.
10. svd, ties_svd and magnitude_prune_svd (PEFT's add_weighted_adapter, lora_alpha ≠ r) vs `loragen combine`;
11. `loragen merge` of PEFT's DoRA and VeRA adapters, loaded in transformers, vs PEFT's merge_and_unload.
It prints one line per check, goes on after a failure, and ends with "N checks passed, M failed" (non-zero exit on any).

STATUS: run on 2026-11-30 on the issue's GPU machine (torch 2.11.0, transformers 5.17.0, peft 0.21.0; no dotnet there):
73 checks passed, 0 failed; the output is in tools/hf_parity-2026-11-30.log and summarized in src/LoraGen.Models/README.md.
The binaries were made here and carried (the ignored folder .devcarry):
    dotnet publish src/LoraGen.Cli -c Release -r linux-x64 --self-contained -p:PublishSingleFile=true \
        -p:EnableCompressionInSingleFile=true -o .devcarry/cli
    dotnet publish samples/TinyGpt.Lora -c Release -r linux-x64 -o .devcarry/sample      (NativeAOT)
"""
import argparse
import json
import os
import shlex
import subprocess
import sys

import torch

TOL = 1e-5
PROMPTS = [[5], [17, 3, 200, 45, 9], list(range(1, 32))]


def loragen(cmd, *args):
    full = shlex.split(cmd) + [str(a) for a in args]
    r = subprocess.run(full, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"loragen failed ({r.returncode}): {' '.join(full)}\n{r.stderr}")
    return r.stdout


def loragen_logits(cmd, model_dir, ids, out, adapter=None):
    from safetensors.torch import load_file
    args = ["logits", model_dir, "--ids", ",".join(map(str, ids)), "-o", out, "--force"]
    if adapter:
        args += ["--adapter", adapter]
    loragen(cmd, *args)
    return load_file(out)["logits"].double()


RESULTS = {"ok": 0, "fail": []}
ONLY = set()   # --cases: the case numbers to run (all when empty)


def check(name, a, b, tol=TOL):
    d = (a.double() - b.double()).abs().max().item()
    print(f"{'ok  ' if d <= tol else 'FAIL'} {name}: max |Δ| {d:.2e}", flush=True)
    if d <= tol:
        RESULTS["ok"] += 1
    else:
        RESULTS["fail"].append(name)


def case(name, fn, *args):
    """Runs one numbered case; a failure or an exception is recorded and the next case still runs."""
    import traceback
    if ONLY and name.split(" ")[0] not in ONLY:
        return
    print(f"== {name}", flush=True)
    try:
        fn(*args)
    except SystemExit as e:
        print(f"FAIL {name}: {e}", flush=True)
        RESULTS["fail"].append(name)
    except Exception:
        print(f"FAIL {name}: exception\n{traceback.format_exc(limit=6)}", flush=True)
        RESULTS["fail"].append(name)


def save_pretrained(model, path):
    """transformers 4.x takes safe_serialization; 5.x always writes safetensors and may not take the argument."""
    try:
        model.save_pretrained(path, safe_serialization=True)
    except TypeError:
        model.save_pretrained(path)


def build(kind):
    import transformers as tf
    torch.manual_seed(0)
    if kind == "gpt2":
        cfg = tf.GPT2Config(vocab_size=300, n_positions=64, n_embd=64, n_layer=2, n_head=4)
        return tf.GPT2LMHeadModel(cfg), ["c_attn", "c_proj"]
    rope = {"rope_type": "llama3", "factor": 4.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
            "original_max_position_embeddings": 32} if kind == "llama3" else None
    common = dict(vocab_size=300, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=128, tie_word_embeddings=kind == "llama3")
    if int(tf.__version__.split(".")[0]) >= 5:   # transformers 5 moved rope_theta and rope_scaling into rope_parameters
        cfg = tf.LlamaConfig(**common, rope_parameters={**(rope or {"rope_type": "default"}), "rope_theta": 10000.0})
    else:
        cfg = tf.LlamaConfig(**common, rope_scaling=rope)
    return tf.LlamaForCausalLM(cfg), ["q_proj", "v_proj"]


def logits(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loragen", required=True, help="command that runs the loragen CLI")
    ap.add_argument("--work", default="/tmp/hf-parity")
    ap.add_argument("--sample", help="command that runs samples/TinyGpt.Lora (for LoraGen's own variant adapters in PEFT)")
    ap.add_argument("--only-variants", action="store_true", help="run only the LoRA-variant cases (5-9)")
    ap.add_argument("--cases", default="", help="comma-separated case numbers to run, e.g. 10,11 (default: all)")
    a = ap.parse_args()
    ONLY.update(c for c in a.cases.split(",") if c)
    import peft
    import transformers
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}", flush=True)
    if not a.only_variants:
        for kind in ("gpt2", "llama", "llama3"):
            case(f"1-4 {kind}: base, PEFT adapter, LoraGen adapter, merged", family, a, peft, kind)
    variants(a, peft)
    if a.sample:
        for method in ("dora", "pissa", "olora", "vera"):
            case(f"8 LoraGen {method} adapter (TinyGpt sample) in PEFT", sample_variant_in_peft, a, method)
    print(f"{RESULTS['ok']} checks passed, {len(RESULTS['fail'])} failed" +
          (": " + "; ".join(RESULTS["fail"]) if RESULTS["fail"] else ""))
    sys.exit(1 if RESULTS["fail"] else 0)


def train(pm, steps=5, lr=1e-2, seed=1):
    """A few AdamW steps on random tokens, so that every trainable tensor of the active adapter moves."""
    opt = torch.optim.AdamW([p for p in pm.parameters() if p.requires_grad], lr=lr)
    pm.train()
    x = torch.randint(0, 300, (2, 16), generator=torch.Generator().manual_seed(seed))
    for _ in range(steps):
        loss = pm(x, labels=x).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    pm.eval()


def compare_adapter(a, name, d, pm, adapter_dir):
    """PEFT's logits vs `loragen logits` of the base in d/base with adapter_dir, for every prompt."""
    for i, ids in enumerate(PROMPTS):
        check(f"{name} prompt {i}", logits(pm, ids),
              loragen_logits(a.loragen, os.path.join(d, "base"), ids, os.path.join(d, "l.safetensors"), adapter_dir))


def fresh_base(d):
    import transformers as tf
    return tf.LlamaForCausalLM.from_pretrained(os.path.join(d, "base")).eval()


def variants(a, peft):
    d = os.path.join(a.work, "variants")
    model, targets = build("llama")
    model.eval()
    save_pretrained(model, os.path.join(d, "base"))
    case("5 PEFT DoRA adapter loads here", dora_case, a, peft, d, targets)
    for init in ("pissa", "pissa_niter_4", "olora"):
        case(f"6 PEFT {init} adapter (converted) loads here", residual_case, a, peft, d, targets, init)
    case("7 ties / dare_linear both ways", combine_case, a, peft, d, targets)
    for save_projection in (True, False):
        case(f"9 PEFT VeRA adapter (save_projection={save_projection}) loads here", vera_case, a, peft, d, targets, save_projection)
    case("10 svd, ties_svd, magnitude_prune_svd: LoraGen's combination vs PEFT's", svd_combine_case, a, peft, d, targets)
    for kind in ("dora", "vera_saved", "vera_seeded"):
        case(f"11 `loragen merge` of PEFT's {kind} adapter vs PEFT's merge_and_unload", merge_case, a, peft, d, kind)


def dora_case(a, peft, d, targets):
    # 5. DoRA made by PEFT loads here.
    pm = peft.get_peft_model(fresh_base(d), peft.LoraConfig(r=4, lora_alpha=8, target_modules=targets, use_dora=True,
                                                             init_lora_weights=False))
    train(pm)
    pm.save_pretrained(os.path.join(d, "dora"))
    compare_adapter(a, "llama PEFT DoRA adapter", d, pm, os.path.join(d, "dora"))


def residual_case(a, peft, d, targets, init):
    # 6. PiSSA / OLoRA made by PEFT, converted to plain LoRA on the untouched base, load here.
    pm = peft.get_peft_model(fresh_base(d), peft.LoraConfig(r=4, lora_alpha=4, target_modules=targets, init_lora_weights=init))
    initial = os.path.join(d, f"{init}_initial")
    pm.peft_config["default"].init_lora_weights = True   # PEFT's recipe: the initial adapter saved as a plain one
    pm.save_pretrained(initial)
    pm.peft_config["default"].init_lora_weights = init
    train(pm)
    out = os.path.join(d, init)
    pm.save_pretrained(out, path_initial_model_for_weight_conversion=initial)
    with open(os.path.join(out, "adapter_config.json")) as f:
        cfg = json.load(f)
    if cfg.get("init_lora_weights") not in (True, "true") or cfg.get("r") != 8:
        sys.exit(f"PEFT's converted adapter is not a plain rank-2r LoRA ({cfg.get('init_lora_weights')}, r {cfg.get('r')})")
    compare_adapter(a, f"llama PEFT {init} adapter (converted, on the untouched base)", d, pm, out)


def combine_case(a, peft, d, targets):
    # 7. ties and dare_linear: PEFT's add_weighted_adapter vs `loragen combine`, each loaded on the other side.
    pm = peft.get_peft_model(fresh_base(d), peft.LoraConfig(r=4, lora_alpha=8, target_modules=targets, init_lora_weights=False),
                             adapter_name="a1")
    pm.add_adapter("a2", peft.LoraConfig(r=4, lora_alpha=8, target_modules=targets, init_lora_weights=False))
    for seed, name in enumerate(("a1", "a2"), start=1):
        pm.set_adapter(name)
        train(pm, seed=seed)
    pm.save_pretrained(os.path.join(d, "pair"))   # a1 in pair/, a2 in pair/a2 (PEFT puts non-default names in subfolders)
    a1 = os.path.join(d, "pair") if os.path.exists(os.path.join(d, "pair", "adapter_config.json")) else os.path.join(d, "pair", "a1")
    a2 = os.path.join(d, "pair", "a2")
    weights, density = [0.7, 0.3], 0.5
    for method in ("ties", "dare_linear"):
        name = f"{method}_out"
        torch.manual_seed(0)
        pm.add_weighted_adapter(["a1", "a2"], weights, name, combination_type=method, density=density)
        pm.set_adapter(name)
        pm.eval()
        pm.save_pretrained(os.path.join(d, "combined"), selected_adapters=[name])
        theirs = os.path.join(d, "combined", name)
        compare_adapter(a, f"llama PEFT {method} adapter", d, pm, theirs)
        ours = os.path.join(d, f"lg_{method}")
        loragen(a.loragen, "combine", a1, a2, "--weights", ",".join(map(str, weights)), "--method", method,
                "--density", density, "--seed", 0, "-o", ours, "--force")
        loaded = peft.PeftModel.from_pretrained(fresh_base(d), ours).eval()
        compare_adapter(a, f"llama LoraGen {method} adapter in PEFT", d, loaded, ours)
        if method == "ties":   # deterministic: the two combinations must agree
            for i, ids in enumerate(PROMPTS):
                check(f"llama ties: LoraGen's combination vs PEFT's, prompt {i}", logits(loaded, ids), logits(pm, ids))


def vera_case(a, peft, d, targets, save_projection):
    # 9. VeRA made by PEFT: with the projections in the file, and regenerated here from projection_prng_key alone.
    pm = peft.get_peft_model(fresh_base(d), peft.VeraConfig(r=16, target_modules=targets, projection_prng_key=7,
                                                             save_projection=save_projection, d_initial=0.1))
    train(pm)   # λ_b starts at 0: train so that both vectors move
    out = os.path.join(d, "vera_saved" if save_projection else "vera_seeded")
    pm.save_pretrained(out)
    compare_adapter(a, f"llama PEFT VeRA adapter (save_projection={save_projection})", d, pm, out)


def svd_combine_case(a, peft, d, targets):
    # 10. The svd family of add_weighted_adapter (deterministic for these three): PEFT's combined adapter vs ours, with
    # lora_alpha ≠ r so that a scaling counted twice on either side shows.
    pm = peft.get_peft_model(fresh_base(d), peft.LoraConfig(r=4, lora_alpha=8, target_modules=targets, init_lora_weights=False),
                             adapter_name="s1")
    pm.add_adapter("s2", peft.LoraConfig(r=4, lora_alpha=8, target_modules=targets, init_lora_weights=False))
    for seed, name in enumerate(("s1", "s2"), start=1):
        pm.set_adapter(name)
        train(pm, seed=seed)
    pm.save_pretrained(os.path.join(d, "svdpair"))
    s1 = os.path.join(d, "svdpair") if os.path.exists(os.path.join(d, "svdpair", "adapter_config.json")) else os.path.join(d, "svdpair", "s1")
    s2 = os.path.join(d, "svdpair", "s2")
    weights = [0.7, 0.3]
    for method in ("svd", "ties_svd", "magnitude_prune_svd"):
        name = f"{method}_out"
        extra = {} if method == "svd" else {"density": 0.5}
        pm.add_weighted_adapter(["s1", "s2"], weights, name, combination_type=method, svd_rank=4, **extra)
        pm.set_adapter(name)
        pm.eval()
        ours = os.path.join(d, f"lg_{method}")
        args = ["combine", s1, s2, "--weights", ",".join(map(str, weights)), "--method", method, "--svd-rank", 4, "-o", ours, "--force"]
        if extra:
            args += ["--density", 0.5]
        loragen(a.loragen, *args)
        for i, ids in enumerate(PROMPTS):
            check(f"llama {method}: LoraGen's combination vs PEFT's, prompt {i}", loragen_logits(a.loragen, os.path.join(d, "base"), ids,
                  os.path.join(d, "l.safetensors"), ours), logits(pm, ids), tol=1e-4)


def merge_case(a, peft, d, kind):
    # 11. `loragen merge` of an adapter PEFT made (cases 5 and 9), loaded in transformers, vs PEFT's merge_and_unload.
    import transformers as tf
    adapter = os.path.join(d, kind)
    merged_here = os.path.join(d, f"merged_{kind}")
    loragen(a.loragen, "merge", adapter, "--base", os.path.join(d, "base"), "-o", merged_here, "--force")
    theirs = peft.PeftModel.from_pretrained(fresh_base(d), adapter).merge_and_unload().eval()
    ours = tf.LlamaForCausalLM.from_pretrained(merged_here).eval()
    for i, ids in enumerate(PROMPTS):
        check(f"llama {kind}: `loragen merge` vs PEFT merge_and_unload, prompt {i}", logits(ours, ids), logits(theirs, ids))


def sample_variant_in_peft(a, method):
    """LoraGen's own DoRA/PiSSA/OLoRA/VeRA adapter (written by the TinyGpt sample) loaded into PEFT by tests/interop/peft_check.py."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    check_script = os.path.join(root, "tests", "interop", "peft_check.py")
    out = os.path.join(a.work, f"sample-{method}")
    r = subprocess.run(shlex.split(a.sample) + ["--quick", "--method", method, "--out", out], capture_output=True, text=True,
                       env={**os.environ, "NO_COLOR": "1"})
    if r.returncode != 0:
        sys.exit(f"sample --method {method} ({r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    r = subprocess.run([sys.executable, check_script, out], capture_output=True, text=True)
    print(r.stdout.rstrip())
    if r.returncode != 0:
        sys.exit(f"LoraGen {method} adapter in PEFT (tests/interop/peft_check.py {out}):\n{r.stderr[-2000:]}")
    RESULTS["ok"] += 1
    print(f"ok   LoraGen {method} adapter (TinyGpt sample) in PEFT")


def family(a, peft, kind):
    d = os.path.join(a.work, kind)
    model, targets = build(kind)
    model.eval()
    save_pretrained(model, os.path.join(d, "base"))
    for i, ids in enumerate(PROMPTS):
        check(f"{kind} base prompt {i}", logits(model, ids), loragen_logits(a.loragen, os.path.join(d, "base"), ids, os.path.join(d, "l.safetensors")))
    # A PEFT adapter trained in Python loads here.
    pm = peft.get_peft_model(model, peft.LoraConfig(r=4, lora_alpha=8, target_modules=targets, init_lora_weights=False))
    train(pm)
    pm.save_pretrained(os.path.join(d, "peft_adapter"))
    for i, ids in enumerate(PROMPTS):
        check(f"{kind} PEFT adapter prompt {i}", logits(pm, ids),
              loragen_logits(a.loragen, os.path.join(d, "base"), ids, os.path.join(d, "l.safetensors"), os.path.join(d, "peft_adapter")))
    # An adapter trained here loads into PEFT; the merged directory loads into transformers.
    with open(os.path.join(d, "data.jsonl"), "w") as f:
        for j in range(50):
            f.write(json.dumps({"text": " ".join(str(k) for k in range(j, j + 20))}) + "\n")
    # The base has no tokenizer files: give it GPT-2-style ones so `finetune` can tokenize.
    # (transformers' GPT2TokenizerFast from the hub is not reachable offline; a tiny byte-level vocab is written.)
    write_tokenizer(os.path.join(d, "base"))
    loragen(a.loragen, "finetune", os.path.join(d, "base"), "--data", os.path.join(d, "data.jsonl"), "-o", os.path.join(d, "lg_adapter"),
            "--rank", 4, "--steps", 5, "--seq-len", 16, "--merge", os.path.join(d, "merged"), "--force")
    base, _ = build(kind)
    base = type(base).from_pretrained(os.path.join(d, "base")).eval()
    loaded = peft.PeftModel.from_pretrained(base, os.path.join(d, "lg_adapter")).eval()
    merged = type(base).from_pretrained(os.path.join(d, "merged")).eval()
    for i, ids in enumerate(PROMPTS):
        ours = loragen_logits(a.loragen, os.path.join(d, "base"), ids, os.path.join(d, "l.safetensors"), os.path.join(d, "lg_adapter"))
        check(f"{kind} LoraGen adapter in PEFT prompt {i}", logits(loaded, ids), ours)
        check(f"{kind} LoraGen merged in transformers prompt {i}", logits(merged, ids), ours)


def write_tokenizer(path):
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    vocab = {chr(c): i for i, c in enumerate(sorted(cs))}
    vocab["<|endoftext|>"] = 299
    with open(os.path.join(path, "vocab.json"), "w") as f:
        json.dump(vocab, f)
    with open(os.path.join(path, "merges.txt"), "w") as f:
        f.write("#version: 0.2\n")
    with open(os.path.join(path, "tokenizer_config.json"), "w") as f:
        json.dump({"eos_token": "<|endoftext|>"}, f)


if __name__ == "__main__":
    main()
