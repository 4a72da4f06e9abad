using System.Text.Json;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using Xunit;

namespace LoraGen.Peft.Tests;

/// <summary>VeRA's and NoLA's adapter_config.json: PEFT's VeraConfig fields, LoraGen's NoLA fields, the rules, the atomic directory.</summary>
public sealed class BasisAdapterConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("loragen-basis-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The fields PEFT 0.x writes for <c>VeraConfig(r=128, target_modules=["q_proj", "v_proj"])</c> (its documented defaults).</summary>
    private const string PeftVera = """
        {
          "auto_mapping": null,
          "base_model_name_or_path": "facebook/opt-125m",
          "bias": "none",
          "d_initial": 0.1,
          "fan_in_fan_out": false,
          "inference_mode": true,
          "init_weights": true,
          "layers_pattern": null,
          "layers_to_transform": null,
          "modules_to_save": null,
          "peft_type": "VERA",
          "projection_prng_key": 0,
          "r": 128,
          "revision": null,
          "save_projection": true,
          "target_modules": [
            "q_proj",
            "v_proj"
          ],
          "task_type": "CAUSAL_LM",
          "vera_dropout": 0.0
        }
        """;

    [Fact]
    public void ReadsPeftsVeraConfigAndWritesItBack()
    {
        var c = BasisAdapterConfig.Parse(System.Text.Encoding.UTF8.GetBytes(PeftVera), "adapter_config.json");
        Assert.Equal(LoraVariant.Vera, c.Variant);
        Assert.Equal(128, c.R);
        Assert.Equal(0, c.Seed);
        Assert.True(c.SaveProjection);
        Assert.Equal(0.1, c.DInitial);
        Assert.Equal(["q_proj", "v_proj"], c.TargetModules!.Items);
        Assert.Equal("CAUSAL_LM", c.OtherFields["task_type"].GetString());
        using var again = JsonDocument.Parse(c.ToJson());
        using var original = JsonDocument.Parse(PeftVera);
        foreach (var p in original.RootElement.EnumerateObject())
            Assert.True(again.RootElement.TryGetProperty(p.Name, out var v) && v.GetRawText() == p.Value.GetRawText() || p.Value.ValueKind == JsonValueKind.Null,
                $"field {p.Name} did not round-trip");
        Assert.Equal(BasisAdapterConfig.Parse(System.Text.Encoding.UTF8.GetBytes(c.ToJson())).ToJson(), c.ToJson());
    }

    [Theory]
    [InlineData("\"bias\": \"none\"", "\"bias\": \"vera_only\"", "bias")]
    [InlineData("\"modules_to_save\": null", "\"modules_to_save\": [\"lm_head\"]", "modules_to_save")]
    [InlineData("\"init_weights\": true", "\"init_weights\": false", "init_weights")]
    [InlineData("\"r\": 128", "\"r\": 0", "r")]
    [InlineData("\"vera_dropout\": 0.0", "\"vera_dropout\": 1.0", "vera_dropout")]
    [InlineData("\"projection_prng_key\": 0", "\"projection_prng_key\": \"zero\"", "projection_prng_key")]
    [InlineData("\"peft_type\": \"VERA\"", "\"peft_type\": \"LORA\"", "peft_type")]
    public void RefusesWhatItCannotHonourNamingTheField(string from, string to, string field)
    {
        var e = Assert.Throws<AdapterConfigException>(() => BasisAdapterConfig.Parse(System.Text.Encoding.UTF8.GetBytes(PeftVera.Replace(from, to)), "adapter_config.json"));
        Assert.Equal(field, e.Field);
        Assert.Contains("adapter_config.json", e.Message);
    }

    [Fact]
    public void NolaConfigRoundTripsThroughTheAtomicDirectory()
    {
        var config = new BasisAdapterConfig { Variant = LoraVariant.Nola, R = 8, Seed = 42, NumBasisA = 32, NumBasisB = 16, LoraAlpha = 16, TargetModules = OneOrMany<string>.Many(["c_attn"]) };
        var tensors = new List<SafetensorsEntry> { SafetensorsEntry.FromFloats("base_model.model.h.0.c_attn.nola_alpha", new[] { 32 }, new float[32]) };
        AdapterDirectory.SaveBasis(_dir, config, tensors);
        Assert.Equal("NOLA", BasisAdapterConfig.PeftTypeIn(_dir));
        var (read, weights) = AdapterDirectory.OpenBasis(_dir);
        using (weights)
        {
            Assert.Equal(config.ToJson(), read.ToJson());
            Assert.True(weights.Contains("base_model.model.h.0.c_attn.nola_alpha"));
        }
        var json = File.ReadAllText(Path.Combine(_dir, AdapterKeys.ConfigFile));
        Assert.Contains("\"basis_generator\": \"loragen-xoshiro128ss-v1\"", json);
        Assert.Contains("\"num_basis_a\": 32", json);
        // A LoRA reader refuses it by its peft_type.
        var e = Assert.Throws<AdapterConfigException>(() => AdapterDirectory.Open(_dir));
        Assert.Equal("peft_type", e.Field);
    }
}
