using LoraGen.Lora;
using LoraGen.Runtime.Tests.Hardening;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests.Variants;

/// <summary>The facade's add_weighted_adapter: the combined adapter's output, the trimming methods, refusals.</summary>
public sealed class WeightedAdapterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("loragen-weighted-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static TwoProjModel TwoAdapters()
    {
        var model = new TwoProjModel();
        model.Lora.Attach("x", seed: 1);
        model.Lora.Attach("y", seed: 2, config: new LoraOverride { R = 2, LoraAlpha = 6 });
        var rng = new Rng(3);
        foreach (var slot in new[] { model.Q.Lora!, model.V.Lora! })
            foreach (var ad in slot.Adapters.Values) rng.FillNormal(ad.B.Data, 0, 0.4f);
        return model;
    }

    private static float[] Out(TwoProjModel m, string adapter, Tensor x)
    {
        m.Lora.SetActive(adapter);
        return m.Forward(x).ToArray();
    }

    [Fact]
    public void CatGivesTheWeightedSumOfTheAdaptersOutputs()
    {
        var model = TwoAdapters();
        var x = Tensor.Randn(new Rng(4), 1, 3, TwoProjModel.In);
        var yx = Out(model, "x", x);
        var yy = Out(model, "y", x);
        float[] y0;
        using (model.Lora.Disable()) y0 = model.Forward(x).ToArray();
        model.Lora.AddWeightedAdapter(["x", "y"], [0.7, -0.4], "mix", combinationType: "cat");
        Assert.Equal("y", model.Lora.Active);   // not activated
        var ym = Out(model, "mix", x);
        for (int i = 0; i < ym.Length; i++)
            Assert.Equal(y0[i] + 0.7f * (yx[i] - y0[i]) - 0.4f * (yy[i] - y0[i]), ym[i], 1e-5f);
        Assert.Equal(8 + 2, model.Q.Lora!.Adapters["mix"].Config.Rank);
        model.Lora.Save(_dir, "mix");
        var loaded = new TwoProjModel();
        loaded.Lora.Load(_dir, "mix");
        Assert.Equal(ym, loaded.Forward(x).ToArray());
    }

    [Fact]
    public void TrimmingMethodsMakeAnAdapterOfTheCommonRank()
    {
        var model = TwoAdapters();
        model.Lora.Attach("z", seed: 5);
        foreach (var type in new[] { "ties", "dare_linear", "dare_ties", "magnitude_prune" })
        {
            model.Lora.AddWeightedAdapter(["x", "z"], [0.5, 0.5], type, combinationType: type, density: 0.5, seed: 7);
            Assert.Equal(8, model.V.Lora!.Adapters[type].Config.Rank);
            Assert.Contains(model.V.Lora!.Adapters[type].B.ToArray(), v => v != 0);
        }
        model.Lora.AddWeightedAdapter(["x", "y"], [1, 1], "svd4", svdRank: 4);
        Assert.Equal(4, model.Q.Lora!.Adapters["svd4"].Config.Rank);
    }

    [Fact]
    public void SvdClampIsPassedToTheCombination()
    {
        var model = TwoAdapters();
        model.Lora.AddWeightedAdapter(["x", "y"], [1, -0.5], "plain", svdRank: 4);
        model.Lora.AddWeightedAdapter(["x", "y"], [1, -0.5], "clamped", svdRank: 4, svdClamp: 0.5);
        foreach (var slot in new[] { model.Q.Lora!, model.V.Lora! })
        {
            // The same combination computed by the PEFT unit with svd_clamp: what the facade adds, bit for bit.
            var factors = new[] { "x", "y" }.Select(n => slot.Adapters[n]).Select(ad =>
                (LoraGen.Combine.LoraFactors?)new LoraGen.Combine.LoraFactors(ad.A.ToArray(), ad.B.ToArray(), ad.Config.Rank, ad.A.Dim(1), ad.B.Dim(0), ad.Scaling)).ToList();
            var expected = LoraGen.Combine.AdapterCombination.Combine(LoraGen.Combine.CombinationMethod.Svd, factors, [1, -0.5], 4, svdClamp: 0.5);
            Assert.Equal(expected.A, slot.Adapters["clamped"].A.ToArray());
            Assert.Equal(expected.B, slot.Adapters["clamped"].B.ToArray());
            // At the median every entry's magnitude is at most the bound, so the largest ones were cut.
            float bound = slot.Adapters["clamped"].B.ToArray().Concat(slot.Adapters["clamped"].A.ToArray()).Max(Math.Abs);
            Assert.Contains(slot.Adapters["plain"].B.ToArray().Concat(slot.Adapters["plain"].A.ToArray()), v => Math.Abs(v) > bound);
        }
    }

    [Fact]
    public void BadRequestsChangeNothing()
    {
        var model = TwoAdapters();
        Assert.Throws<ArgumentException>(() => model.Lora.AddWeightedAdapter(["x", "y"], [1, 1], "m", combinationType: "task_arithmetic"));
        Assert.Throws<ArgumentException>(() => model.Lora.AddWeightedAdapter(["x", "y"], [1, 1], "m", combinationType: "ties"));           // no density
        Assert.Throws<ArgumentException>(() => model.Lora.AddWeightedAdapter(["x", "y"], [1, 1], "m", combinationType: "ties", density: 0.5)); // ranks differ
        Assert.Throws<KeyNotFoundException>(() => model.Lora.AddWeightedAdapter(["x", "nope"], [1, 1], "m"));
        Assert.Throws<ArgumentException>(() => model.Lora.AddWeightedAdapter(["x", "y"], [1, 1], "m", svdClamp: 1.5));                      // not a quantile
        Assert.Throws<ArgumentException>(() => model.Lora.AddWeightedAdapter(["x", "y"], [1, 1], "m", combinationType: "cat", svdClamp: 0.9)); // svd types only
        Assert.Equal(["x", "y"], model.Lora.Names);
        Assert.DoesNotContain("m", model.Q.Lora!.Adapters.Keys);
    }
}
