#!/usr/bin/python3
"""Writes the tiny Hugging Face checkpoints, tokenizers and reference logits that tests/LoraGen.Models.Tests reads.

Run with Debian's PyTorch 1.13 (no transformers, no safetensors package needed):

    /usr/bin/python3 tools/make_hf_fixtures.py tests/LoraGen.Models.Tests/Fixtures/hf

Every file is in the exact layout transformers' save_pretrained writes (config.json, model.safetensors or
model.safetensors.index.json + shards, vocab.json/merges.txt, tokenizer.json, tokenizer_config.json); the safetensors
files are written here from the format's definition. The reference logits come from this script's own forward pass of
each family, written from the published architectures (GPT-2: learned positions, LayerNorm, tanh-GELU, Conv1D weights
stored [in, out], tied lm_head; Llama: RMSNorm, RoPE with rope_theta and the llama3 rope_scaling, SwiGLU MLP,
grouped-query attention, optional tied embeddings), computed in float64 from the weights as stored (after rounding to
the file's dtype). Everything is seeded: running the script twice writes the same bytes.
"""
import json
import math
import os
import struct
import sys

import torch

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, tensor) in file order. Header: 8-byte LE length, JSON padded with spaces to 8 bytes."""
    header = {}
    blobs = []
    offset = 0
    for name, t in tensors:
        b = tensor_bytes(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    if metadata is not None:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


# ---------------------------------------------------------------- GPT-2

def gpt2_weights(cfg, gen):
    d, L, V, P = cfg["n_embd"], cfg["n_layer"], cfg["vocab_size"], cfg["n_positions"]
    n = lambda *s: torch.randn(*s, generator=gen) * 0.2
    w = {"wte.weight": n(V, d), "wpe.weight": n(P, d)}
    for i in range(L):
        p = f"h.{i}."
        w[p + "ln_1.weight"] = 1 + n(d) * 0.5
        w[p + "ln_1.bias"] = n(d) * 0.5
        w[p + "attn.c_attn.weight"] = n(d, 3 * d)      # Conv1D: [in, out]
        w[p + "attn.c_attn.bias"] = n(3 * d)
        w[p + "attn.c_proj.weight"] = n(d, d)
        w[p + "attn.c_proj.bias"] = n(d)
        w[p + "ln_2.weight"] = 1 + n(d) * 0.5
        w[p + "ln_2.bias"] = n(d) * 0.5
        w[p + "mlp.c_fc.weight"] = n(d, 4 * d)
        w[p + "mlp.c_fc.bias"] = n(4 * d)
        w[p + "mlp.c_proj.weight"] = n(4 * d, d)
        w[p + "mlp.c_proj.bias"] = n(d)
    w["ln_f.weight"] = 1 + n(d) * 0.5
    w["ln_f.bias"] = n(d) * 0.5
    return w


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def attention(q, k, v):
    """q [H, T, D], k/v [H, T, D] (kv heads already repeated); causal."""
    T, D = q.shape[1], q.shape[2]
    s = q @ k.transpose(1, 2) / math.sqrt(D)
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    s = s.masked_fill(mask, float("-inf"))
    return torch.softmax(s, -1) @ v


def gpt2_forward(w, cfg, ids, delta=None):
    """delta: optional {conv1d key: [in, out] increment} (a merged LoRA)."""
    W = lambda k: w[k] + (delta[k] if delta and k in delta else 0)
    d, H, eps = cfg["n_embd"], cfg["n_head"], cfg["layer_norm_epsilon"]
    T = len(ids)
    x = w["wte.weight"][ids] + w["wpe.weight"][torch.arange(T)]
    for i in range(cfg["n_layer"]):
        p = f"h.{i}."
        h = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = h @ W(p + "attn.c_attn.weight") + w[p + "attn.c_attn.bias"]
        q, k, v = qkv.split(d, -1)
        heads = lambda t: t.view(T, H, d // H).transpose(0, 1)
        y = attention(heads(q), heads(k), heads(v)).transpose(0, 1).reshape(T, d)
        x = x + y @ W(p + "attn.c_proj.weight") + w[p + "attn.c_proj.bias"]
        h = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        m = gelu_tanh(h @ W(p + "mlp.c_fc.weight") + w[p + "mlp.c_fc.bias"])
        x = x + m @ W(p + "mlp.c_proj.weight") + w[p + "mlp.c_proj.bias"]
    x = layer_norm(x, w["ln_f.weight"], w["ln_f.bias"], eps)
    return x @ w["wte.weight"].T


# ---------------------------------------------------------------- Llama

def llama_weights(cfg, gen):
    d, L, V, I = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["vocab_size"], cfg["intermediate_size"]
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = d // H
    n = lambda *s: torch.randn(*s, generator=gen) * 0.2
    w = {"model.embed_tokens.weight": n(V, d)}
    for i in range(L):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = 1 + n(d) * 0.5
        w[p + "self_attn.q_proj.weight"] = n(H * hd, d)       # nn.Linear: [out, in]
        w[p + "self_attn.k_proj.weight"] = n(KV * hd, d)
        w[p + "self_attn.v_proj.weight"] = n(KV * hd, d)
        w[p + "self_attn.o_proj.weight"] = n(d, H * hd)
        w[p + "post_attention_layernorm.weight"] = 1 + n(d) * 0.5
        w[p + "mlp.gate_proj.weight"] = n(I, d)
        w[p + "mlp.up_proj.weight"] = n(I, d)
        w[p + "mlp.down_proj.weight"] = n(d, I)
    w["model.norm.weight"] = 1 + n(d) * 0.5
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = n(V, d)
    return w


def rms_norm(x, w, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w


def rope_inv_freq(cfg):
    hd = cfg["hidden_size"] // cfg["num_attention_heads"]
    theta = cfg["rope_theta"]
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    rs = cfg.get("rope_scaling")
    if rs is None:
        return inv, 1.0
    kind = rs.get("rope_type", rs.get("type"))
    if kind == "linear":
        return inv, float(rs["factor"])
    assert kind == "llama3", kind
    factor, lo, hi, old = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old / lo, old / hi
    wavelen = 2 * math.pi / inv
    out = torch.where(wavelen > low_wavelen, inv / factor, inv)
    smooth = (old / wavelen - lo) / (hi - lo)
    smoothed = (1 - smooth) * out / factor + smooth * out
    medium = (wavelen >= high_wavelen) & (wavelen <= low_wavelen)
    return torch.where(medium, smoothed, out), 1.0


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), -1)


def llama_forward(w, cfg, ids, delta=None):
    W = lambda k: w[k] + (delta[k] if delta and k in delta else 0)
    d, H, KV, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["rms_norm_eps"]
    hd = d // H
    T = len(ids)
    inv, pos_div = rope_inv_freq(cfg)
    freqs = torch.outer(torch.arange(T, dtype=torch.float64) / pos_div, inv)
    emb = torch.cat((freqs, freqs), -1)
    cos, sin = emb.cos(), emb.sin()
    x = w["model.embed_tokens.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = (h @ W(p + "self_attn.q_proj.weight").T).view(T, H, hd).transpose(0, 1)
        k = (h @ W(p + "self_attn.k_proj.weight").T).view(T, KV, hd).transpose(0, 1)
        v = (h @ W(p + "self_attn.v_proj.weight").T).view(T, KV, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KV, 0)
        v = v.repeat_interleave(H // KV, 0)
        y = attention(q, k, v).transpose(0, 1).reshape(T, H * hd)
        x = x + y @ W(p + "self_attn.o_proj.weight").T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        g = h @ W(p + "mlp.gate_proj.weight").T
        m = (g * torch.sigmoid(g)) * (h @ W(p + "mlp.up_proj.weight").T)
        x = x + m @ W(p + "mlp.down_proj.weight").T
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return x @ head.T


# ---------------------------------------------------------------- tokenizers

def bytes_to_unicode():
    """GPT-2's reversible byte → printable character map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


CORPUS = ("the cat sat on the mat and the dog sat on the log . the cat and the dog are friends . "
          "hello world , hello there , the world is wide and the sea is deep .") * 3


def pretokens(text, b2u):
    """Words with their leading space, as GPT-2's pattern splits plain lowercase text."""
    out = []
    for i, word in enumerate(text.split(" ")):
        piece = ("" if i == 0 else " ") + word
        out.append("".join(b2u[b] for b in piece.encode("utf-8")))
    return out


def learn_merges(n_merges, b2u):
    words = {}
    for p in pretokens(CORPUS, b2u):
        words[tuple(p)] = words.get(tuple(p), 0) + 1
    merges = []
    for _ in range(n_merges):
        pairs = {}
        for wd, c in words.items():
            for a, b in zip(wd, wd[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + c
        if not pairs:
            break
        best = max(sorted(pairs), key=lambda p: pairs[p])
        merges.append(best)
        new = {}
        for wd, c in words.items():
            out, i = [], 0
            while i < len(wd):
                if i + 1 < len(wd) and (wd[i], wd[i + 1]) == best:
                    out.append(wd[i] + wd[i + 1])
                    i += 2
                else:
                    out.append(wd[i])
                    i += 1
            new[tuple(out)] = new.get(tuple(out), 0) + c
        words = new
    return merges


def bpe_encode(text, vocab, merges, b2u):
    rank = {m: i for i, m in enumerate(merges)}
    ids = []
    for p in pretokens(text, b2u):
        parts = list(p)
        while len(parts) > 1:
            pairs = [(rank.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
            r, i = min(pairs)
            if r == 1 << 30:
                break
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        ids += [vocab[t] for t in parts]
    return ids


def tokenizer_files(out, n_merges, eos, bos=None):
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: i for i, b in enumerate(sorted(b2u, key=lambda b: ord(b2u[b])))}
    merges = learn_merges(n_merges, b2u)
    for a, b in merges:
        vocab[a + b] = len(vocab)
    specials = [s for s in (bos, eos) if s is not None]
    for s in specials:
        vocab[s] = len(vocab)
    return vocab, merges, b2u


# ---------------------------------------------------------------- writing

PROMPTS = [[5], [17, 3, 200, 45, 9], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31]]


def round_to(w, dtype):
    return {k: v.to(dtype).to(torch.float64) for k, v in w.items()}


def write_reference(out, logits_by_name, prompts):
    tensors = [(name, t.to(torch.float32)) for name, t in logits_by_name]
    write_safetensors(os.path.join(out, "reference.safetensors"), tensors)
    write_json(os.path.join(out, "reference.json"), {"prompts": prompts})


def make_gpt2(root, gen):
    out = os.path.join(root, "gpt2")
    os.makedirs(out, exist_ok=True)
    vocab_n = 300
    cfg = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": vocab_n, "n_positions": 64,
           "n_embd": 64, "n_layer": 2, "n_head": 4, "n_inner": None, "activation_function": "gelu_new",
           "layer_norm_epsilon": 1e-5, "resid_pdrop": 0.1, "embd_pdrop": 0.1, "attn_pdrop": 0.1,
           "initializer_range": 0.02, "bos_token_id": vocab_n - 1, "eos_token_id": vocab_n - 1,
           "tie_word_embeddings": True, "torch_dtype": "float32", "transformers_version": "4.46.0"}
    w = round_to(gpt2_weights(cfg, gen), torch.float32)
    # The original GPT-2 files: keys without the "transformer." prefix, plus the causal-mask buffers attn.bias.
    tensors = []
    for k, v in w.items():
        tensors.append((k, v.to(torch.float32)))
        if k.endswith("attn.c_attn.weight"):
            n = cfg["n_positions"]
            tensors.append((k.replace("c_attn.weight", "bias"), torch.tril(torch.ones(n, n)).view(1, 1, n, n)))
    write_safetensors(os.path.join(out, "model.safetensors"), tensors, {"format": "pt"})
    write_json(os.path.join(out, "config.json"), cfg)
    # Tokenizer: byte-level BPE, 256 bytes + merges + <|endoftext|>.
    vocab, merges, b2u = tokenizer_files(out, vocab_n - 257, "<|endoftext|>")
    assert len(vocab) == vocab_n, len(vocab)
    write_json(os.path.join(out, "vocab.json"), vocab)
    with open(os.path.join(out, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(f"{a} {b}\n")
    write_json(os.path.join(out, "tokenizer_config.json"), {
        "add_prefix_space": False, "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>", "model_max_length": 64, "tokenizer_class": "GPT2Tokenizer",
        "added_tokens_decoder": {str(vocab_n - 1): {"content": "<|endoftext|>", "special": True}}})
    texts = ["the cat sat on the mat", "hello world", "the dog and the cat are friends ."]
    write_json(os.path.join(out, "tokens.json"), [{"text": t, "ids": bpe_encode(t, vocab, merges, b2u)} for t in texts])

    # A PEFT LoRA adapter on the Conv1D layers (fan_in_fan_out), r 4, alpha 8, and the logits with it applied.
    r, alpha = 4, 8
    d = cfg["n_embd"]
    adapter, delta = [], {}
    for i in range(cfg["n_layer"]):
        for name, (din, dout) in (("attn.c_attn", (d, 3 * d)), ("attn.c_proj", (d, d))):
            A = (torch.randn(r, din, generator=gen) * 0.2).to(torch.float32)
            B = (torch.randn(dout, r, generator=gen) * 0.2).to(torch.float32)
            key = f"base_model.model.transformer.h.{i}.{name}"
            adapter += [(key + ".lora_A.weight", A), (key + ".lora_B.weight", B)]
            delta[f"h.{i}.{name}.weight"] = (B.double() @ A.double()).T * (alpha / r)   # [in, out]
    ad_dir = os.path.join(out, "adapter")
    os.makedirs(ad_dir, exist_ok=True)
    write_safetensors(os.path.join(ad_dir, "adapter_model.safetensors"), adapter, {"format": "pt"})
    write_json(os.path.join(ad_dir, "adapter_config.json"), {
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": "tiny-gpt2", "r": r, "lora_alpha": alpha,
        "lora_dropout": 0.0, "fan_in_fan_out": True, "bias": "none", "target_modules": ["attn.c_attn", "attn.c_proj"],
        "inference_mode": True, "init_lora_weights": True, "use_rslora": False, "use_dora": False,
        "modules_to_save": None, "layers_to_transform": None, "layers_pattern": None, "rank_pattern": {}, "alpha_pattern": {},
        "revision": None, "layer_replication": None, "loftq_config": {}, "megatron_config": None, "megatron_core": "megatron.core"})
    logits = []
    for j, ids in enumerate(PROMPTS):
        logits.append((f"logits.{j}", gpt2_forward(w, cfg, ids)))
        logits.append((f"logits_lora.{j}", gpt2_forward(w, cfg, ids, delta)))
    write_reference(out, logits, PROMPTS)


def make_llama(root, gen, name, dtype, tied, rope_scaling, shards):
    out = os.path.join(root, name)
    os.makedirs(out, exist_ok=True)
    vocab_n = 300
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": vocab_n, "hidden_size": 64,
           "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
           "hidden_act": "silu", "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
           "rope_scaling": rope_scaling, "attention_bias": False, "attention_dropout": 0.0, "mlp_bias": False,
           "pretraining_tp": 1, "initializer_range": 0.02, "use_cache": True, "bos_token_id": vocab_n - 2,
           "eos_token_id": vocab_n - 1, "tie_word_embeddings": tied,
           "torch_dtype": {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}[dtype],
           "transformers_version": "4.46.0"}
    w = round_to(llama_weights(cfg, gen), dtype)
    items = [(k, v.to(dtype)) for k, v in w.items()]
    if shards == 1:
        write_safetensors(os.path.join(out, "model.safetensors"), items, {"format": "pt"})
    else:
        per = (len(items) + shards - 1) // shards
        weight_map, total = {}, 0
        for s in range(shards):
            fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            part = items[s * per:(s + 1) * per]
            write_safetensors(os.path.join(out, fname), part, {"format": "pt"})
            for k, v in part:
                weight_map[k] = fname
                total += v.numel() * v.element_size()
        write_json(os.path.join(out, "model.safetensors.index.json"), {"metadata": {"total_size": total}, "weight_map": weight_map})
    write_json(os.path.join(out, "config.json"), cfg)
    # tokenizer.json with a byte-level BPE model (the Llama 3 / SmolLM2 kind).
    vocab, merges, b2u = tokenizer_files(out, vocab_n - 258, "<|end_of_text|>", "<|begin_of_text|>")
    assert len(vocab) == vocab_n, len(vocab)
    added = [{"id": vocab["<|begin_of_text|>"], "content": "<|begin_of_text|>", "single_word": False, "lstrip": False,
              "rstrip": False, "normalized": False, "special": True},
             {"id": vocab["<|end_of_text|>"], "content": "<|end_of_text|>", "single_word": False, "lstrip": False,
              "rstrip": False, "normalized": False, "special": True}]
    write_json(os.path.join(out, "tokenizer.json"), {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None, "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]}})
    write_json(os.path.join(out, "tokenizer_config.json"), {
        "bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>", "model_max_length": 128,
        "tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": False})
    texts = ["the cat sat on the mat", "hello world", "the dog and the cat are friends ."]
    write_json(os.path.join(out, "tokens.json"), [{"text": t, "ids": bpe_encode(t, vocab, merges, b2u)} for t in texts])
    logits = [(f"logits.{j}", llama_forward(w, cfg, ids)) for j, ids in enumerate(PROMPTS)]
    write_reference(out, logits, PROMPTS)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "tests/LoraGen.Models.Tests/Fixtures/hf"
    os.makedirs(root, exist_ok=True)
    gen = torch.Generator().manual_seed(1234)
    make_gpt2(root, gen)
    make_llama(root, gen, "llama", torch.bfloat16, tied=False, rope_scaling=None, shards=2)
    make_llama(root, gen, "llama3-tied", torch.float16, tied=True,
               rope_scaling={"rope_type": "llama3", "factor": 4.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                             "original_max_position_embeddings": 32}, shards=1)
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(root) for f in fs)
    print(f"wrote {root}: {total} bytes")


if __name__ == "__main__":
    main()
