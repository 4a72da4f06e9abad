#!/usr/bin/python3
"""Trains a tiny SentencePiece tokenizer.model in the Llama 2 / TinyLlama style and writes the ids SentencePiece
itself gives for a set of strings, for tests/LoraGen.Models.Tests (the Llama tokenizer path of HfTokenizer).

Run with Debian's python3-sentencepiece (0.1.97):

    /usr/bin/python3 tools/make_sp_fixture.py tests/LoraGen.Models.Tests/Fixtures/hf/sentencepiece

Llama 2's trainer settings, scaled down: a BPE model, <unk> = 0, <s> = 1, </s> = 2, byte fallback (the 256 <0xNN>
pieces, so any character outside the vocabulary still encodes), a dummy prefix "▁", no normalization (identity),
whitespace kept as is, digits split. The corpus is generated here from a fixed word list (seeded), so the run is
reproducible; training uses one thread. Writes tokenizer.model, tokenizer_config.json (as transformers'
LlamaTokenizer saves it) and tokens.json: [{"text", "ids", "pieces"}] as SentencePiece encodes each text (no bos).
"""
import io
import json
import os
import random
import sys

import sentencepiece as spm

WORDS = ("the quick brown fox jumps over lazy dog low rank adaptation of large language models fine tune weights "
         "hello world token merge piece byte fallback llama tiny model train step loss value").split()

TEXTS = [
    "Hello world",
    "hello world",
    " leading space",
    "two  spaces and trailing ",
    "the quick brown fox jumps over the lazy dog",
    "low-rank adaptation, 2021: r=8, alpha=16!",
    "digits 1234567890",
    "héllo wörld ✓",
    "日本語のテキスト",
    "emoji 🦙 llama",
    "tabs\tand\nnewlines",
    "",
    "x",
]


def corpus(seed=1234, lines=3000):
    rng = random.Random(seed)
    out = []
    for _ in range(lines):
        n = rng.randint(3, 12)
        words = [rng.choice(WORDS) for _ in range(n)]
        if rng.random() < 0.3:
            words.append(str(rng.randint(0, 9999)))
        if rng.random() < 0.2:
            words[0] = words[0].capitalize()
        out.append(" ".join(words) + rng.choice([".", ",", "!", "?", ""]))
    return out


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/LoraGen.Models.Tests/Fixtures/hf/sentencepiece"
    os.makedirs(out, exist_ok=True)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus()), model_writer=model,
        model_type="bpe", vocab_size=400, character_coverage=1.0, byte_fallback=True,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        normalization_rule_name="identity", remove_extra_whitespaces=False, add_dummy_prefix=True,
        split_digits=True, allow_whitespace_only_pieces=True, num_threads=1, minloglevel=2)
    data = model.getvalue()
    with open(os.path.join(out, "tokenizer.model"), "wb") as f:
        f.write(data)
    sp = spm.SentencePieceProcessor(model_proto=data)
    tokens = [{"text": t, "ids": sp.encode(t), "pieces": sp.encode(t, out_type=str)} for t in TEXTS]
    with open(os.path.join(out, "tokens.json"), "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join(json.dumps(t, ensure_ascii=False) for t in tokens) + "\n]\n")
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"add_bos_token": True, "add_eos_token": False,
                   "bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": False, "normalized": False, "rstrip": False, "single_word": False},
                   "eos_token": {"__type": "AddedToken", "content": "</s>", "lstrip": False, "normalized": False, "rstrip": False, "single_word": False},
                   "unk_token": {"__type": "AddedToken", "content": "<unk>", "lstrip": False, "normalized": False, "rstrip": False, "single_word": False},
                   "pad_token": None, "legacy": False, "model_max_length": 128, "tokenizer_class": "LlamaTokenizer",
                   "clean_up_tokenization_spaces": False}, f, indent=2)
        f.write("\n")
    print(f"{out}: tokenizer.model {len(data)} bytes, vocab {sp.get_piece_size()}, {len(tokens)} texts")


if __name__ == "__main__":
    main()
