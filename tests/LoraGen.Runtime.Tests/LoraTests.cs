using LoraGen.Autograd;
using LoraGen.Lora;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests;

/// <summary>The LoRA math: zero-B start, gradients only for A/B, merge/unmerge, safe merge, embeddings, scaling.</summary>
public class LoraTests
{
    private static (Linear Layer, LoraAdapter Adapter) Adapted(int inF = 12, int outF = 10, int rank = 4, double alpha = 8, double dropout = 0)
    {
        var layer = new Linear(inF, outF, rng: new Rng(5));
        layer.Freeze();
        var adapter = layer.EnableLora("layer").Add("default", new LoraConfig(rank, alpha, dropout), new Rng(6));
        return (layer, adapter);
    }

    private static void Randomize(Tensor t, ulong seed) => new Rng(seed).FillNormal(t.Data, 0, 0.5f);

    [Fact]
    public void ZeroBAdapterGivesExactlyTheBaseOutput()
    {
        var (layer, adapter) = Adapted();
        Assert.All(adapter.B.ToArray(), v => Assert.Equal(0f, v));
        Assert.Contains(adapter.A.ToArray(), v => v != 0f);
        var x = Tensor.Randn(new Rng(1), 1, 3, 5, 12);
        var baseOut = x.Linear(layer.Weight, layer.Bias);
        Assert.Equal(baseOut.ToArray(), layer.Forward(x).ToArray());
    }

    [Fact]
    public void OnlyAAndBReceiveGradients()
    {
        var (layer, adapter) = Adapted();
        Randomize(adapter.B, 2);
        var x = Tensor.Randn(new Rng(1), 1, 4, 12);
        layer.Forward(x).Sum().Backward();
        Assert.Null(layer.Weight.Grad);
        Assert.Null(layer.Bias!.Grad);
        Assert.NotNull(adapter.A.Grad);
        Assert.NotNull(adapter.B.Grad);
        Assert.Equal(["lora_A.default.weight", "lora_B.default.weight"], layer.AdapterParameters().Select(p => p.Name));
    }

    [Fact]
    public void ForwardMatchesTheLowRankFormula()
    {
        var (layer, adapter) = Adapted(rank: 3, alpha: 6);
        Randomize(adapter.B, 3);
        var x = Tensor.Randn(new Rng(1), 1, 5, 12);
        var expected = x.Linear(layer.Weight, layer.Bias) + x.Linear(adapter.A).Linear(adapter.B).Scale(2f);
        TestUtil.AssertClose(expected, layer.Forward(x), 1e-5f, "lora forward");
    }

    [Fact]
    public void MergeGivesUnmergedOutputsAndUnmergeRestoresW()
    {
        var (layer, adapter) = Adapted();
        Randomize(adapter.B, 4);
        var w0 = layer.Weight.ToArray();
        var x = Tensor.Randn(new Rng(1), 1, 6, 12);
        var unmerged = layer.Forward(x);
        layer.Lora!.Merge();
        Assert.True(layer.Lora!.IsMerged);
        TestUtil.AssertClose(unmerged, layer.Forward(x), 1e-5f, "merged output");
        var merged = layer.Weight.ToArray();
        layer.Lora!.Merge();                                   // merging twice is a no-op
        Assert.Equal(merged, layer.Weight.ToArray());
        layer.Lora!.Unmerge();
        Assert.False(layer.Lora!.IsMerged);
        for (int i = 0; i < w0.Length; i++) Assert.True(Math.Abs(w0[i] - layer.Weight.Data[i]) <= 1e-6f, $"W[{i}]");
        TestUtil.AssertClose(unmerged, layer.Forward(x), 1e-5f, "unmerged output");
    }

    [Fact]
    public void SafeMergeRefusesNaNAndLeavesWUnchanged()
    {
        var (layer, adapter) = Adapted();
        Randomize(adapter.B, 4);
        adapter.A.Data[3] = float.NaN;
        var w0 = layer.Weight.ToArray();
        var ex = Assert.Throws<LoraMergeException>(() => layer.Lora!.Merge(safe: true));
        Assert.Equal("layer", ex.Layer);
        Assert.Equal("default", ex.Adapter);
        Assert.Contains("NaN", ex.Message);
        Assert.Equal(w0, layer.Weight.ToArray());
        Assert.False(layer.Lora!.IsMerged);
    }

    [Fact]
    public void DisabledAndSwitchedAdapters()
    {
        var (layer, first) = Adapted();
        Randomize(first.B, 5);
        var second = layer.Lora!.Add("other", new LoraConfig(2, 2), new Rng(9));
        Randomize(second.B, 6);
        var x = Tensor.Randn(new Rng(1), 1, 2, 12);
        var baseOut = x.Linear(layer.Weight, layer.Bias).ToArray();
        var outFirst = layer.Forward(x).ToArray();
        layer.Lora!.SetActive("other");
        var outSecond = layer.Forward(x).ToArray();
        Assert.NotEqual(outFirst, outSecond);
        layer.Lora!.Disabled = true;
        Assert.Equal(baseOut, layer.Forward(x).ToArray());
        layer.Lora!.Disabled = false;
        Assert.Throws<KeyNotFoundException>(() => layer.Lora!.SetActive("missing"));
    }

    [Fact]
    public void DropoutOnlyInTraining()
    {
        var (layer, adapter) = Adapted(dropout: 0.5);
        Randomize(adapter.B, 7);
        var x = Tensor.Randn(new Rng(1), 1, 8, 12);
        layer.Eval();
        var a = layer.Forward(x).ToArray();
        Assert.Equal(a, layer.Forward(x).ToArray());
        layer.Train();
        Assert.NotEqual(a, layer.Forward(x).ToArray());
    }

    [Fact]
    public void EmbeddingAdapterStartsNeutralAndMergesExactly()
    {
        var emb = new Embedding(20, 6, new Rng(2));
        emb.Freeze();
        var ad = emb.EnableLora("wte").Add("default", new LoraConfig(4, 8), new Rng(3));
        Assert.Equal(new[] { 4, 20 }, ad.A.Shape.ToArray());
        Assert.Equal(new[] { 6, 4 }, ad.B.Shape.ToArray());
        int[] ids = [3, 0, 19, 3];
        var baseOut = EmbeddingOps.Embedding(emb.Weight, ids, 2, 2).ToArray();
        Assert.Equal(baseOut, emb.Forward(ids, 2, 2).ToArray());
        Randomize(ad.A, 8);
        var unmerged = emb.Forward(ids, 2, 2);
        emb.Lora!.Merge();
        TestUtil.AssertClose(unmerged, emb.Forward(ids, 2, 2), 1e-5f, "merged embedding");
        Assert.Equal(["lora_embedding_A.default", "lora_embedding_B.default"], emb.AdapterParameters().Select(p => p.Name));
    }

    [Fact]
    public void ScalingAndInitRules()
    {
        Assert.Equal(2f, new LoraConfig(8, 16).Scaling);
        Assert.Equal(16f / MathF.Sqrt(8), new LoraConfig(8, 16, UseRsLora: true).Scaling, 6);
        var layer = new Linear(400, 30);
        var g = layer.EnableLora("l").Add("g", new LoraConfig(4, 4, Init: LoraInit.Gaussian), new Rng(1));
        double std = Math.Sqrt(g.A.ToArray().Select(v => (double)v * v).Average());
        Assert.InRange(std, 0.23, 0.27);    // N(0, (1/r)²) with r = 4
        var k = layer.Lora!.Add("k", new LoraConfig(4, 4), new Rng(1));
        Assert.All(k.A.ToArray(), v => Assert.InRange(v, -0.05f, 0.05f));   // U(−1/√400, 1/√400)
        Assert.Throws<ArgumentException>(() => layer.Lora!.Add("bad", new LoraConfig(0, 4), new Rng(1)));
        Assert.Throws<ArgumentException>(() => layer.Lora!.Add("bad", new LoraConfig(4, -1), new Rng(1)));
        Assert.Throws<ArgumentException>(() => layer.Lora!.Add("bad", new LoraConfig(4, 4, Dropout: 1.0), new Rng(1)));
    }
}
