using LoraGen.Peft;
using Xunit;

namespace LoraGen.Peft.Tests;

/// <summary>The adapter-wide VeRA/NoLA settings both backends derive from their layers, and the disagreements they refuse.</summary>
public class BasisLayerSettingsTests
{
    private static BasisLayerSettings Layer(string path, int rank = 8, double alpha = 16, double dropout = 0, int k = 64) => new(path, rank, alpha, dropout, k);

    [Fact]
    public void AgreeingLayersGiveTheFirstLayersSettingsAndTheOverrides()
    {
        var problems = new List<string>();
        var cfg = BasisLayerSettings.Combine(LoraVariant.Nola, [Layer("a.q", k: 32), Layer("a.v", k: 32)], seed: 7, saveProjection: false,
            dInitial: 0.2, numBasisA: 16, numBasisB: null, problems);
        Assert.Empty(problems);
        Assert.Equal((LoraVariant.Nola, 8, 7L, false, 0.2, 16.0, 16, 32), (cfg.Variant, cfg.R, cfg.Seed, cfg.SaveProjection, cfg.DInitial, cfg.LoraAlpha, cfg.NumBasisA, cfg.NumBasisB));

        var defaults = BasisLayerSettings.Combine(LoraVariant.Vera, [Layer("a.q", rank: 256)], null, null, null, null, null, problems);
        Assert.Empty(problems);
        Assert.Equal((256, 0L, true, 0.1), (defaults.R, defaults.Seed, defaults.SaveProjection, defaults.DInitial));
    }

    [Fact]
    public void DisagreeingLayersAreNamed()
    {
        var problems = new List<string>();
        BasisLayerSettings.Combine(LoraVariant.Vera, [Layer("a.q"), Layer("a.v", rank: 4)], null, null, null, null, null, problems);
        Assert.Equal("Vera needs one rank for every layer (the projection is shared): 'a.q' has 8, 'a.v' has 4 (LORA0210).", Assert.Single(problems));

        problems.Clear();
        BasisLayerSettings.Combine(LoraVariant.Nola, [Layer("a.q"), Layer("a.v", alpha: 8)], null, null, null, null, null, problems);
        Assert.Equal("Nola has one dropout and one α per adapter: 'a.q' and 'a.v' differ.", Assert.Single(problems));

        problems.Clear();   // VeRA's α is not part of its file: layers may differ in it
        BasisLayerSettings.Combine(LoraVariant.Vera, [Layer("a.q"), Layer("a.v", alpha: 8)], null, null, null, null, null, problems);
        Assert.Empty(problems);
    }
}
