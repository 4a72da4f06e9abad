using System.Text.Json;
using LoraGen.Families;
using LoraGen.Lora;
using Xunit;

namespace LoraGen.Cli.Tests;

/// <summary><c>loragen inspect</c> of VeRA and NoLA adapters: variant, rank, seed/generator, per-layer vectors and PEFT's trainable count.</summary>
public sealed class BasisInspectTests : IDisposable
{
    private readonly Fixtures _f = new();
    public void Dispose() => _f.Dispose();

    private static string Torch(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "PyTorch", "vera_merge", .. parts]);

    [Fact]
    public void Inspect_of_a_vera_adapter_counts_r_plus_out_per_layer_and_names_the_seed()
    {
        // q [10, 12] and v [6, 5], r 4, saved without projections: (10 + 4) + (6 + 4) = 24 trainable numbers.
        var (code, output, err) = Cli.Run("inspect", Torch("linear", "adapter"), "--json");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal("VeRA", root.GetProperty("variant").GetString());
        Assert.Equal(4, root.GetProperty("r").GetInt32());
        Assert.Equal(20240601, root.GetProperty("seed").GetInt64());
        Assert.Equal("regenerated", root.GetProperty("projection").GetString());
        Assert.Equal(24, root.GetProperty("trainable_params").GetInt64());
        var layers = root.GetProperty("layers").EnumerateArray().ToList();
        Assert.Equal(["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj"], layers.Select(l => l.GetProperty("module").GetString()));
        Assert.Equal([14L, 10L], layers.Select(l => l.GetProperty("trainable_params").GetInt64()));
        Assert.Equal(10, layers[0].GetProperty("lambda_b_shape")[0].GetInt32());

        (code, output, err) = Cli.Run("inspect", Torch("linear", "adapter"), "--base", Torch("linear", "model.safetensors"));
        Assert.True(code == 0, err);
        Assert.Contains("VeRA, r = 4", output);
        Assert.Contains("regenerated from projection_prng_key 20240601", output);
        // base: q 10·12 + 10, v 6·5 + 6 = 166; all = 166 + 24.
        Assert.Contains("2 layers; trainable params: 24 || all params: 190 || trainable%: 12.6316", output);
    }

    [Fact]
    public void Inspect_of_a_nola_adapter_counts_its_coefficients_whatever_the_rank()
    {
        var model = HfModels.Load(Path.Combine(AppContext.BaseDirectory, "Fixtures", "hf", "gpt2"));
        var lora = model.LoraWith(model.DefaultLoraOptions);
        lora.Attach(config: new LoraOverride { Variant = LoraVariant.Nola, R = 16, LoraAlpha = 32, TargetModules = ["c_attn"], NumBasisA = 7, NumBasisB = 5, ProjectionPrngKey = 9 });
        lora.Save(_f.P("nola"));
        var (code, output, err) = Cli.Run("inspect", _f.P("nola"), "--json");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal("NoLA", root.GetProperty("variant").GetString());
        Assert.Equal(16, root.GetProperty("r").GetInt32());
        Assert.Equal(9, root.GetProperty("seed").GetInt64());
        Assert.Equal("loragen-xoshiro128ss-v1", root.GetProperty("generator").GetString());
        Assert.Equal(2.0, root.GetProperty("scaling").GetDouble());
        Assert.Equal(2 * (7 + 5), root.GetProperty("trainable_params").GetInt64());   // two c_attn layers
        Assert.All(root.GetProperty("layers").EnumerateArray(), l => Assert.Equal(12, l.GetProperty("trainable_params").GetInt64()));

        (code, output, err) = Cli.Run("inspect", _f.P("nola"));
        Assert.True(code == 0, err);
        Assert.Contains("NoLA, r = 16, scaling 2", output);
        Assert.Contains("k_A = 7 A bases", output);
        Assert.Contains("2 layers; trainable params: 24", output);
    }
}
