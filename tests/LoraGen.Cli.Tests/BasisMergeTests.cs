using LoraGen.Families;
using LoraGen.Lora;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Cli.Tests;

/// <summary>
/// <c>loragen merge</c> of VeRA (PEFT's format) and NoLA (docs/nola-format.md) adapters: the merged GPT-2 checkpoint
/// computes the logits of the managed runtime's unmerged model (≤ 1e-5), VeRA's ΔW equals PyTorch's (projections
/// regenerated from the seed), and bad files are refused by key with nothing written.
/// </summary>
public sealed class BasisMergeTests : IDisposable
{
    private readonly Fixtures _f = new();
    public void Dispose() => _f.Dispose();

    private static string Gpt2 => Path.Combine(AppContext.BaseDirectory, "Fixtures", "hf", "gpt2");

    private static string Torch(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "PyTorch", "vera_merge", .. parts]);

    private static readonly int[] Ids = [17, 3, 200, 45, 9, 121];

    /// <summary>GPT-2 with a fresh VeRA/NoLA adapter whose trainable vectors are set to random values (so ΔW ≠ 0), saved to a directory.</summary>
    private (float[] Logits, string Adapter) AdapterOnGpt2(LoraOverride config)
    {
        var model = HfModels.Load(Gpt2);
        var lora = model.LoraWith(model.DefaultLoraOptions);
        lora.Attach(config: config);
        int seed = 100;
        foreach (var p in lora.Parameters())
            Fixtures.Rand(p.Size, seed++, 0.5f).CopyTo(p.Data);
        string dir = _f.P("adapter");
        lora.Save(dir);
        using var _ = Autograd.GradMode.NoGrad();
        return (model.Forward(Ids, 1, Ids.Length).ToArray(), dir);
    }

    private float[] MergedLogits(string adapter, string kind)
    {
        var (code, output, err) = Cli.Run("merge", adapter, "--base", Gpt2, "-o", _f.P("merged"));
        Assert.True(code == 0, err);
        Assert.Contains($"merged 4 {kind} layers", output);   // c_attn and c_fc of both blocks
        var merged = HfModels.Load(_f.P("merged"));
        using var _ = Autograd.GradMode.NoGrad();
        return merged.Forward(Ids, 1, Ids.Length).ToArray();
    }

    private static void AssertClose(float[] expected, float[] actual, float tol)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol, $"[{i}]: {expected[i]} vs {actual[i]}");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Vera_merge_gives_the_logits_of_the_unmerged_runtime_model(bool saveProjection)
    {
        // GPT-2's Conv1D weights ([in, out], fan_in_fan_out): c_attn [64 → 192] and c_fc [64 → 256] share one projection.
        var (expected, adapter) = AdapterOnGpt2(new LoraOverride
        {
            Variant = LoraVariant.Vera, R = 8, TargetModules = ["c_attn", "c_fc"], ProjectionPrngKey = 4242, SaveProjection = saveProjection,
        });
        using (var f = SafetensorsFile.Open(Path.Combine(adapter, AdapterKeys.WeightsFile)))
            Assert.Equal(saveProjection, f.Tensors.Any(t => t.Name.EndsWith("vera_A", StringComparison.Ordinal)));
        var baseLogits = BaseLogits();
        Assert.True(expected.Zip(baseLogits).Max(p => Math.Abs(p.First - p.Second)) > 1e-3f, "the adapter changes the logits");
        AssertClose(expected, MergedLogits(adapter, "VeRA"), 1e-5f);
    }

    [Fact]
    public void Nola_merge_gives_the_logits_of_the_unmerged_runtime_model()
    {
        var (expected, adapter) = AdapterOnGpt2(new LoraOverride
        {
            Variant = LoraVariant.Nola, R = 4, LoraAlpha = 8, TargetModules = ["c_attn", "c_fc"], NumBasisA = 5, NumBasisB = 3, ProjectionPrngKey = 77,
        });
        Assert.True(expected.Zip(BaseLogits()).Max(p => Math.Abs(p.First - p.Second)) > 1e-3f, "the adapter changes the logits");
        AssertClose(expected, MergedLogits(adapter, "NoLA"), 1e-5f);
    }

    private static float[] BaseLogits()
    {
        var model = HfModels.Load(Gpt2);
        using var _ = Autograd.GradMode.NoGrad();
        return model.Forward(Ids, 1, Ids.Length).ToArray();
    }

    [Theory]
    [InlineData("linear")]
    [InlineData("conv1d")]
    public void Vera_merge_equals_PyTorch_with_projections_regenerated_from_the_seed(string layout)
    {
        // tools/make_cli_vera_merge_fixture.py: PEFT's projections from torch.Generator().manual_seed(key), ΔW in PyTorch 1.13.
        var (code, output, err) = Cli.Run("merge", Torch(layout, "adapter"), "--base", Torch(layout, "model.safetensors"), "-o", _f.P("out"));
        Assert.True(code == 0, err);
        Assert.Contains("merged 2 VeRA layers", output);
        using var merged = SafetensorsFile.Open(_f.P("out", "model.safetensors"));
        using var expected = SafetensorsFile.Open(Torch(layout, "expected.safetensors"));
        using var original = SafetensorsFile.Open(Torch(layout, "model.safetensors"));
        foreach (var t in original.Tensors)
        {
            if (!t.Name.EndsWith(".weight", StringComparison.Ordinal))
            {
                Assert.Equal(original.ReadFloats(t.Name), merged.ReadFloats(t.Name));   // biases copied bit for bit
                continue;
            }
            var want = expected.ReadFloats(t.Name);
            var got = merged.ReadFloats(t.Name);
            var delta = expected.ReadFloats(t.Name[..^".weight".Length] + ".delta");
            Assert.True(delta.Max(Math.Abs) > 0.1f);
            for (int i = 0; i < want.Length; i++)
                Assert.True(Math.Abs(want[i] - got[i]) <= 1e-5f, $"{t.Name}[{i}]: PyTorch {want[i]} vs loragen {got[i]}");
        }
    }

    private const string Q = "model.layers.0.self_attn.q_proj";

    private static string VeraConfig(bool saveProjection = false) => $$"""
        {"peft_type": "VERA", "r": 2, "target_modules": ["q_proj"], "projection_prng_key": 0, "save_projection": {{(saveProjection ? "true" : "false")}}, "vera_dropout": 0.0, "d_initial": 0.1}
        """;

    [Fact]
    public void Bad_vera_files_are_refused_by_key_and_nothing_is_written()
    {
        SafetensorsWriter.Save(_f.P("model.safetensors"), [SafetensorsEntry.FromFloats(Q + ".weight", [6, 5], Fixtures.Rand(30, 1))]);
        void Refused(string name, string configJson, SafetensorsEntry[] tensors, int exit, params string[] needles)
        {
            Fixtures.WriteAdapter(_f.P(name), configJson, tensors);
            var (code, _, err) = Cli.Run("merge", _f.P(name), "--base", _f.P("model.safetensors"), "-o", _f.P("out-" + name));
            Assert.Equal(exit, code);
            foreach (var n in needles) Assert.Contains(n, err);
            Assert.False(Directory.Exists(_f.P("out-" + name)));
        }
        string lb = Contract.PeftKeys.VeraLambdaBKey(Q), ld = Contract.PeftKeys.VeraLambdaDKey(Q);
        // λ_b must have the layer's 6 outputs; λ_d the config's r = 2.
        Refused("short-lambda-b", VeraConfig(), [SafetensorsEntry.FromFloats(lb, [5], Fixtures.Rand(5, 2)), SafetensorsEntry.FromFloats(ld, [2], Fixtures.Rand(2, 3))],
            ExitCodes.BadInput, lb, "[5]", "expected [6]");
        Refused("long-lambda-d", VeraConfig(), [SafetensorsEntry.FromFloats(lb, [6], Fixtures.Rand(6, 2)), SafetensorsEntry.FromFloats(ld, [3], Fixtures.Rand(3, 3))],
            ExitCodes.BadInput, ld, "expected [2]");
        Refused("no-partner", VeraConfig(), [SafetensorsEntry.FromFloats(lb, [6], Fixtures.Rand(6, 2))], ExitCodes.BadInput, lb, "no partner", ld);
        // A saved projection too small for the layer, and a layer the base does not have.
        Refused("small-projection", VeraConfig(saveProjection: true), [
            SafetensorsEntry.FromFloats(lb, [6], Fixtures.Rand(6, 2)), SafetensorsEntry.FromFloats(ld, [2], Fixtures.Rand(2, 3)),
            SafetensorsEntry.FromFloats(Contract.PeftKeys.VeraSharedA, [2, 4], Fixtures.Rand(8, 4)), SafetensorsEntry.FromFloats(Contract.PeftKeys.VeraSharedB, [6, 2], Fixtures.Rand(12, 5)),
        ], ExitCodes.BadInput, Contract.PeftKeys.VeraSharedA, "[2, ≥ 5]");
        string other = Contract.PeftKeys.VeraLambdaBKey("model.layers.9.self_attn.q_proj");
        Refused("missing-layer", VeraConfig(), [
            SafetensorsEntry.FromFloats(other, [6], Fixtures.Rand(6, 2)), SafetensorsEntry.FromFloats(Contract.PeftKeys.VeraLambdaDKey("model.layers.9.self_attn.q_proj"), [2], Fixtures.Rand(2, 3)),
        ], ExitCodes.BadInput, other, "model.layers.9.self_attn.q_proj.weight");
        // A config field out of range is named by the PEFT unit.
        Refused("bad-seed", VeraConfig().Replace("\"projection_prng_key\": 0", "\"projection_prng_key\": -1"),
            [SafetensorsEntry.FromFloats(lb, [6], Fixtures.Rand(6, 2)), SafetensorsEntry.FromFloats(ld, [2], Fixtures.Rand(2, 3))], ExitCodes.BadInput, "projection_prng_key");
    }

    [Fact]
    public void Nola_file_whose_metadata_disagrees_with_its_config_is_refused()
    {
        SafetensorsWriter.Save(_f.P("model.safetensors"), [SafetensorsEntry.FromFloats(Q + ".weight", [6, 5], Fixtures.Rand(30, 1))]);
        Directory.CreateDirectory(_f.P("nola"));
        File.WriteAllText(_f.P("nola", AdapterKeys.ConfigFile),
            """{"peft_type": "NOLA", "r": 2, "target_modules": ["q_proj"], "nola_seed": 5, "num_basis_a": 3, "num_basis_b": 2, "lora_alpha": 4, "basis_generator": "loragen-xoshiro128ss-v1"}""");
        SafetensorsWriter.Save(_f.P("nola", AdapterKeys.WeightsFile), [
            SafetensorsEntry.FromFloats(Contract.PeftKeys.NolaAlphaKey(Q), [3], Fixtures.Rand(3, 2)),
            SafetensorsEntry.FromFloats(Contract.PeftKeys.NolaBetaKey(Q), [2], Fixtures.Rand(2, 3)),
        ], new Dictionary<string, string> { ["format"] = "pt", [Contract.PeftKeys.NolaMetaSeed] = "6" });
        var (code, _, err) = Cli.Run("merge", _f.P("nola"), "--base", _f.P("model.safetensors"), "-o", _f.P("out"));
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains(Contract.PeftKeys.NolaMetaSeed, err);
        Assert.False(Directory.Exists(_f.P("out")));
    }
}
