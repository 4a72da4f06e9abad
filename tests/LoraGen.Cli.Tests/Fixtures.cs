using LoraGen.SafeTensors;

namespace LoraGen.Cli.Tests;

/// <summary>Fixtures in PEFT's and transformers' exact layouts, written at test time.</summary>
internal sealed class Fixtures : IDisposable
{
    public Fixtures() => Directory.CreateDirectory(Root);

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "loragen-cli-" + Guid.NewGuid().ToString("N")[..10]);

    public string P(params string[] parts) => Path.Combine([Root, .. parts]);

    public static float[] Rand(int n, int seed, float scale = 1f)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1) * scale).ToArray();
    }

    /// <summary>An adapter_config.json as PEFT 0.20 writes it, including fields LoraGen does not read.</summary>
    public static string PeftConfig(int r, double alpha, string targets, bool fanInFanOut = false) => $$"""
        {
          "alora_invocation_tokens": null,
          "alpha_pattern": {},
          "arrow_config": null,
          "auto_mapping": null,
          "base_model_name_or_path": "tiny-llama",
          "bias": "none",
          "corda_config": null,
          "ensure_weight_tying": false,
          "eva_config": null,
          "exclude_modules": null,
          "fan_in_fan_out": {{(fanInFanOut ? "true" : "false")}},
          "inference_mode": true,
          "init_lora_weights": true,
          "layer_replication": null,
          "layers_pattern": null,
          "layers_to_transform": null,
          "loftq_config": {},
          "lora_alpha": {{alpha.ToString(System.Globalization.CultureInfo.InvariantCulture)}},
          "lora_bias": false,
          "lora_dropout": 0.05,
          "megatron_config": null,
          "megatron_core": "megatron.core",
          "modules_to_save": null,
          "peft_type": "LORA",
          "peft_version": "0.20.0",
          "qalora_group_size": 16,
          "r": {{r}},
          "rank_pattern": {},
          "revision": null,
          "target_modules": {{targets}},
          "target_parameters": null,
          "task_type": "CAUSAL_LM",
          "trainable_token_indices": null,
          "use_dora": false,
          "use_qalora": false,
          "use_rslora": false
        }
        """;

    public static void WriteAdapter(string dir, string configJson, IEnumerable<SafetensorsEntry> tensors)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "adapter_config.json"), configJson);
        SafetensorsWriter.Save(Path.Combine(dir, "adapter_model.safetensors"), tensors, new Dictionary<string, string> { ["format"] = "pt" });
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}
