"""Writes the adapter_config.json fixtures of LoraGen.Peft.Tests the way PEFT 0.20 writes them.

PEFT's PeftConfigMixin.save_pretrained does `json.dumps(config.to_dict(), indent=2, sort_keys=True)`, where
to_dict() is dataclasses.asdict() of a LoraConfig minus runtime_config. The dicts below hold every field PEFT 0.20.0
writes for LoRA (LoraConfig's fields + PeftConfig's base_model_name_or_path/revision/inference_mode + the mixin's
task_type/peft_type/auto_mapping/peft_version), with values a user would get. No peft/torch needed:
    python3 make_config_fixtures.py
"""
import json

# Every field of a default LoraConfig in PEFT 0.20.0, as to_dict() returns it.
DEFAULTS = {
    "alora_invocation_tokens": None,
    "alpha_pattern": {},
    "arrow_config": None,
    "auto_mapping": None,
    "base_model_name_or_path": None,
    "bias": "none",
    "corda_config": None,
    "ensure_weight_tying": False,
    "eva_config": None,
    "exclude_modules": None,
    "fan_in_fan_out": False,
    "inference_mode": False,
    "init_lora_weights": True,
    "layer_replication": None,
    "layers_pattern": None,
    "layers_to_transform": None,
    "loftq_config": {},
    "lora_alpha": 8,
    "lora_bias": False,
    "lora_dropout": 0.0,
    "lora_ga_config": None,
    "megatron_config": None,
    "megatron_core": "megatron.core",
    "modules_to_save": None,
    "monteclora_config": None,
    "peft_type": "LORA",
    "peft_version": "0.20.0",
    "qalora_group_size": 16,
    "r": 8,
    "rank_pattern": {},
    "revision": None,
    "target_modules": None,
    "target_parameters": None,
    "task_type": None,
    "trainable_token_indices": None,
    "use_bdlora": None,
    "use_dora": False,
    "use_qalora": False,
    "use_rslora": False,
    "velora_config": None,
}


def write(name, **changes):
    config = dict(DEFAULTS)
    for key, value in changes.items():
        assert key in config, key
        config[key] = value
    with open(name, "w") as f:
        f.write(json.dumps(config, indent=2, sort_keys=True))


# LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
# task_type="CAUSAL_LM") on Llama-3.2-1B, after save_pretrained (inference_mode True; the set's order).
write("peft020_llama.json",
      base_model_name_or_path="meta-llama/Llama-3.2-1B", inference_mode=True, lora_alpha=16, lora_dropout=0.05,
      target_modules=["v_proj", "q_proj", "o_proj", "k_proj"], task_type="CAUSAL_LM")

# Every field with a C# property set away from its default, plus nested unknown fields.
write("peft020_everything.json",
      alpha_pattern={"v_proj": 64, "model.layers.1.self_attn.q_proj": 2.5},
      alora_invocation_tokens=[128000, 882, 25],
      auto_mapping={"base_model_class": "LlamaForSequenceClassification", "parent_library": "transformers.models.llama.modeling_llama"},
      base_model_name_or_path="/models/ünïcode-模型 \"quoted\"",
      bias="lora_only",
      ensure_weight_tying=True,
      exclude_modules=["lm_head"],
      fan_in_fan_out=True,
      init_lora_weights="pissa_niter_4",
      layer_replication=[[0, 4], [2, 6]],
      layers_pattern="layers",
      layers_to_transform=[0, 1, 3],
      lora_alpha=32.0,
      lora_dropout=1e-05,
      megatron_config={"tensor_model_parallel_size": 1, "sequence_parallel": False, "init_method_std": 0.02},
      modules_to_save=["classifier", "score"],
      r=16,
      rank_pattern={"q_proj": 4, "model.layers.0.self_attn.v_proj": 32},
      revision="main",
      target_modules=["q_proj", "v_proj", "embed_tokens"],
      target_parameters=["feed_forward.experts.down_proj"],
      task_type="SEQ_CLS",
      trainable_token_indices={"embed_tokens": [0, 1, 2]},
      use_qalora=True,
      use_rslora=True,
      velora_config={"velora_rank": 2, "velora_scale": 1e-20})

# A regular expression as target_modules, a float alpha literal, an integer layer index.
write("peft020_regex.json",
      base_model_name_or_path="gpt2", fan_in_fan_out=True, inference_mode=True, lora_alpha=16.0,
      target_modules=r".*\.h\.\d+\.attn\.c_attn", task_type="CAUSAL_LM", init_lora_weights="gaussian")

# What AdapterConfig.ToJson() writes for a config built in code (only the fields LoraGen has properties for):
# new AdapterConfig { R = 8, LoraAlpha = 16, LoraDropout = 0.05, TargetModules = new[] { "q_proj", "v_proj" },
#                     TaskType = "CAUSAL_LM", BaseModelNameOrPath = "gpt2", InferenceMode = true }
OURS = ["alpha_pattern", "base_model_name_or_path", "bias", "exclude_modules", "fan_in_fan_out", "inference_mode",
        "init_lora_weights", "layers_pattern", "layers_to_transform", "lora_alpha", "lora_dropout", "modules_to_save",
        "peft_type", "r", "rank_pattern", "revision", "target_modules", "task_type", "use_dora", "use_rslora"]
fresh = {k: DEFAULTS[k] for k in OURS}
fresh.update(lora_alpha=16, lora_dropout=0.05, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM",
             base_model_name_or_path="gpt2", inference_mode=True)
with open("fresh_config.json", "w") as f:
    f.write(json.dumps(fresh, indent=2, sort_keys=True))
print("wrote peft020_llama.json, peft020_everything.json, peft020_regex.json, fresh_config.json")
