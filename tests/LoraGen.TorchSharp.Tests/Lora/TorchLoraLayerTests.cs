using LoraGen.Peft;
using LoraGen.Torch;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using Linear = TorchSharp.Modules.Linear;

namespace LoraGen.TorchSharp.Tests.Lora;

/// <summary>The hook-based LoRA layers of src/LoraGen.TorchSharp on TorchSharp models written as users write them.</summary>
[Collection(TorchGlobalRng.Name)]
public sealed class TorchLoraLayerTests
{
    private const string Default = "default";

    public TorchLoraLayerTests() => torch.manual_seed(20240611);

    private static (TwoLayer Net, TorchLoraLayer Q, TorchLoraLayer V) Adapted(int rank = 4, double alpha = 8, double dropout = 0)
    {
        var net = new TwoLayer();
        var q = TorchLoraLayer.Attach(net, net.q_proj);
        var v = TorchLoraLayer.Attach(net, net.v_proj);
        q.Add(Default, new TorchLoraConfig(rank, alpha, dropout));
        v.Add(Default, new TorchLoraConfig(rank, alpha, dropout));
        return (net, q, v);
    }

    /// <summary>Gives B (and, for embeddings, A) random values, as training would.</summary>
    private static void Train(TorchLoraLayer layer, string adapter = Default, double std = 0.3)
    {
        using var _ = no_grad();
        layer.Adapters[adapter].MatrixB.normal_(0, std);
        if (layer.Kind == LayerKind.Embedding) layer.Adapters[adapter].MatrixA.normal_(0, std);
    }

    /// <summary>W x + b + s · (x Aᵀ) Bᵀ in float64, from the layer's current tensors.</summary>
    private static Tensor Expected(Linear linear, TorchLoraLayer layer, Tensor x, params string[] adapters)
    {
        var x64 = x.to(float64);
        var y = nn.functional.linear(x64, linear.weight.to(float64), linear.bias!.to(float64));
        foreach (var name in adapters)
        {
            var ad = layer.Adapters[name];
            y = y + nn.functional.linear(nn.functional.linear(x64, ad.MatrixA.to(float64)), ad.MatrixB.to(float64)) * ad.Scaling;
        }
        return y;
    }

    [Fact]
    public void ZeroBLeavesTheOutputUnchanged()
    {
        using var scope = NewDisposeScope();
        var net = new TwoLayer();
        var x = randn(4, 12);
        var before = Referee.Floats(net.call(x));
        var q = TorchLoraLayer.Attach(net, net.q_proj);
        var ad = q.Add(Default, new TorchLoraConfig(4, 8));
        Assert.Equal(before, Referee.Floats(net.call(x)));
        Assert.All(Referee.Floats(ad.MatrixB), b => Assert.Equal(0f, b));
        // A ~ U(±1/√in): kaiming_uniform(a=√5) as PEFT.
        var a = Referee.Floats(ad.MatrixA);
        Assert.All(a, v => Assert.InRange(Math.Abs(v), 0, 1 / Math.Sqrt(12)));
        Assert.Contains(a, v => v != 0);
        Assert.Equal([4L, 12L], ad.MatrixA.shape);
        Assert.Equal([10L, 4L], ad.MatrixB.shape);
        Assert.Equal(2.0, ad.Scaling);
    }

    [Fact]
    public void TheHookAddsTheScaledLowRankPathAndForwardSkipsIt()
    {
        using var scope = NewDisposeScope();
        var (net, q, _) = Adapted(rank: 3, alpha: 6);
        Train(q);
        var x = randn(2, 5, 12);
        Referee.AssertClose(Expected(net.q_proj, q, x, Default), net.q_proj.call(x), 1e-5, "q_proj.call");
        // forward() runs no hooks: the base layer alone (why the LORA01xx analyzer will flag adapted .forward calls).
        Referee.AssertClose(Expected(net.q_proj, q, x), net.q_proj.forward(x), 1e-6, "q_proj.forward");
        var one = new OneLinear();
        var rs = TorchLoraLayer.Attach(one, one.fc);
        Assert.Equal(6 / Math.Sqrt(9), rs.Add(Default, new TorchLoraConfig(9, 6, UseRsLora: true)).Scaling, 12);
    }

    [Fact]
    public void OnlyTheAdaptersGetGradients()
    {
        using var scope = NewDisposeScope();
        var (net, _, _) = Adapted();
        Assert.Equal(2, TorchLoraModules.FreezeBase(net));   // the LayerNorm's weight and bias; q_proj/v_proj were frozen by Attach
        var lora = TorchLoraModules.Parameters(net).ToList();
        Assert.Equal(4, lora.Count);
        Assert.Equal(4, net.parameters().Count(p => p.requires_grad));

        var x = randn(8, 12);
        using (var loss = net.call(x).square().sum()) loss.backward();
        foreach (var (name, p) in net.named_parameters())
        {
            bool isLora = name.Contains("_lora.", StringComparison.Ordinal);
            using var g = p.grad;
            Assert.True(isLora == g is not null, $"{name}: grad {(g is null ? "missing" : "present")}");
        }
        using (var gB = lora[1].grad!) Assert.Contains(Referee.Floats(gB), v => v != 0);   // B learns first (A's gradient is 0 while B = 0)

        var w = Referee.Floats(net.q_proj.weight);
        var b0 = Referee.Floats(lora[1]);
        using var opt = optim.AdamW(lora, lr: 1e-2);
        opt.step();
        Assert.Equal(w, Referee.Floats(net.q_proj.weight));
        Assert.NotEqual(b0, Referee.Floats(lora[1]));
    }

    [Fact]
    public void MergedEqualsUnmergedAndUnmergeRestoresTheWeight()
    {
        using var scope = NewDisposeScope();
        var (net, q, v) = Adapted();
        Train(q);
        Train(v);
        net.eval();
        var x = randn(6, 12);
        var unmerged = net.call(x);
        var w0 = Referee.Floats(net.q_proj.weight);

        q.Merge();
        v.Merge();
        Assert.Equal([Default], q.MergedAdapters);
        var merged = net.call(x);
        Referee.AssertClose(unmerged, merged, 1e-5, "merged vs unmerged");
        Assert.True(Referee.MaxAbsDiff(unmerged, merged) <= 1e-5);

        var wMerged = Referee.Floats(net.q_proj.weight);
        q.Merge();   // already merged: a no-op
        Assert.Equal(wMerged, Referee.Floats(net.q_proj.weight));

        q.Unmerge();
        v.Unmerge();
        Assert.False(q.IsMerged);
        var w1 = Referee.Floats(net.q_proj.weight);
        for (int i = 0; i < w0.Length; i++) Assert.True(Math.Abs(w0[i] - w1[i]) <= 1e-6, $"W[{i}] {w1[i]} vs {w0[i]}");
        Referee.AssertClose(unmerged, net.call(x), 1e-5, "after unmerge");
    }

    [Fact]
    public void MovingTheOwnerToFloat64MovesTheAdapters()
    {
        using var scope = NewDisposeScope();
        var (net, q, v) = Adapted();
        Train(q);
        net.to(float64);
        foreach (var layer in new[] { q, v })
        {
            Assert.Equal(ScalarType.Float64, layer.Adapters[Default].MatrixA.dtype);
            Assert.Equal(ScalarType.Float64, layer.Adapters[Default].MatrixB.dtype);
        }
        Assert.Equal(ScalarType.Float64, net.q_proj.weight.dtype);
        Assert.Contains("q_proj_lora.default.A", net.state_dict().Keys);
        Assert.Contains("v_proj_lora.default.B", net.state_dict().Keys);

        var x = randn(3, 12, dtype: float64);
        var y = net.q_proj.call(x);
        Assert.Equal(ScalarType.Float64, y.dtype);
        Referee.AssertClose(Expected(net.q_proj, q, x, Default), y, 1e-12, "float64 forward");
        Assert.Equal(ScalarType.Float64, q.Add("second", new TorchLoraConfig(2, 2)).MatrixA.dtype);
        // The moved parameters still train: they are what parameters() and the optimizer see.
        Assert.All(TorchLoraModules.Parameters(net), p => Assert.True(p.requires_grad));
    }

    [Fact]
    public void AHalfPrecisionBaseGetsFloat32AdaptersThatStayFloat32()
    {
        using var scope = NewDisposeScope();
        var net = new OneLinear();
        net.to(float16);
        var fc = TorchLoraLayer.Attach(net, net.fc);
        var ad = fc.Add(Default, new TorchLoraConfig(4, 8));
        Assert.Equal(ScalarType.Float32, ad.MatrixA.dtype);
        Assert.Equal(ScalarType.Float32, ad.MatrixB.dtype);
        Train(fc);

        var x = randn(5, 16).to(float16);
        var y = net.call(x);
        Assert.Equal(ScalarType.Float16, y.dtype);
        Referee.AssertClose(Expected(net.fc, fc, x, Default), y, 2e-3, "fp16 base + fp32 LoRA");
        using (var loss = y.to(float32).square().sum()) loss.backward();
        using (var gA = ad.MatrixA.grad!) Assert.Equal(ScalarType.Float32, gA.dtype);
        using (var gB = ad.MatrixB.grad!) Assert.Equal(ScalarType.Float32, gB.dtype);
        using (var gW = net.fc.weight.grad) Assert.Null(gW);

        // Converting the owner to another half type keeps the adapters in float32.
        net.to(bfloat16);
        Assert.Equal(ScalarType.BFloat16, net.fc.weight.dtype);
        Assert.Equal(ScalarType.Float32, fc.Adapters[Default].MatrixA.dtype);
        Assert.Equal(ScalarType.Float32, fc.Adapters[Default].MatrixB.dtype);
        var xb = x.to(bfloat16);
        var unmerged = net.call(xb);
        fc.Merge();
        Assert.Equal(ScalarType.BFloat16, net.fc.weight.dtype);
        Referee.AssertClose(unmerged, net.call(xb), 2e-2, "bf16 merged vs unmerged");
    }

    [Fact]
    public void NamedAdaptersSwitch()
    {
        using var scope = NewDisposeScope();
        var net = new TwoLayer();
        var q = TorchLoraLayer.Attach(net, net.q_proj);
        q.Add("prose", new TorchLoraConfig(4, 8));
        q.Add("verse", new TorchLoraConfig(2, 4, Init: LoraInit.Gaussian));
        Assert.Equal(["prose"], q.ActiveAdapters);   // the first adapter becomes active
        Train(q, "prose");
        Train(q, "verse");
        var x = randn(3, 12);

        var prose = net.q_proj.call(x);
        Referee.AssertClose(Expected(net.q_proj, q, x, "prose"), prose, 1e-5, "prose");
        q.SetActive("verse");
        var verse = net.q_proj.call(x);
        Referee.AssertClose(Expected(net.q_proj, q, x, "verse"), verse, 1e-5, "verse");
        Assert.True(Referee.MaxAbsDiff(prose, verse) > 1e-3);
        q.SetActive("prose", "verse");
        Referee.AssertClose(Expected(net.q_proj, q, x, "prose", "verse"), net.q_proj.call(x), 1e-5, "both");

        // A merged adapter stays in W whichever is active; merging the active set, then switching, adds the other.
        q.SetActive("prose");
        q.Merge();
        q.SetActive("verse");
        q.Unmerge();
        Referee.AssertClose(Expected(net.q_proj, q, x, "verse"), net.q_proj.call(x), 1e-5, "verse after prose unmerged");

        q.Remove("verse");
        Assert.Equal(["prose"], q.Adapters.Keys);
        Assert.Empty(q.ActiveAdapters);
        Assert.DoesNotContain(net.state_dict().Keys, k => k.Contains(".verse.", StringComparison.Ordinal));
        Referee.AssertClose(Expected(net.q_proj, q, x), net.q_proj.call(x), 1e-6, "no active adapter");
        Assert.Throws<KeyNotFoundException>(() => q.SetActive("verse"));
    }

    [Fact]
    public void TheDisableScopeGivesTheBaseModelAndRestores()
    {
        using var scope = NewDisposeScope();
        var (net, q, v) = Adapted();
        Train(q);
        Train(v);
        var x = randn(4, 12);
        var withLora = Referee.Floats(net.call(x));
        using (q.Disable())
        {
            Assert.True(q.Disabled);
            Referee.AssertClose(Expected(net.q_proj, q, x), net.q_proj.call(x), 1e-6, "disabled q_proj");
            using (new TorchLoraDisableScope(TorchLoraModules.Layers(net).Select(l => l.Layer))) Assert.True(v.Disabled);
            Assert.True(q.Disabled);   // the inner scope restored q's state from before it: disabled
            Assert.False(v.Disabled);
        }
        Assert.False(q.Disabled);
        Assert.Equal(withLora, Referee.Floats(net.call(x)));

        var layers = TorchLoraModules.Layers(net).ToList();
        Assert.Equal(new[] { "q_proj", "v_proj" }, layers.Select(l => l.ModulePath));
        using (new TorchLoraDisableScope(layers.Select(l => l.Layer)))
        {
            var frozen = new TwoLayer();
            frozen.load_state_dict(net.state_dict(), strict: false);
            Referee.AssertClose(frozen.call(x), net.call(x), 1e-6, "whole model disabled = base model");
        }
    }

    [Fact]
    public void SafeMergeRefusesNaNAndInfAndLeavesTheWeight()
    {
        using var scope = NewDisposeScope();
        var (net, q, _) = Adapted();
        Train(q);
        var w0 = Referee.Floats(net.q_proj.weight);
        foreach (var bad in new[] { double.NaN, double.PositiveInfinity })
        {
            using (no_grad()) q.Adapters[Default].MatrixB[0, 0] = tensor(bad);
            var e = Assert.Throws<TorchLoraMergeException>(() => q.Merge(safe: true));
            Assert.Equal("q_proj_lora", e.Layer);
            Assert.Equal(Default, e.Adapter);
            Assert.Contains("left unchanged", e.Message);
            Assert.Equal(w0, Referee.Floats(net.q_proj.weight));
            Assert.Empty(q.MergedAdapters);
        }
        using (no_grad()) q.Adapters[Default].MatrixB[0, 0] = tensor(0.1);
        q.Merge(safe: true);
        Assert.Equal([Default], q.MergedAdapters);
    }

    [Fact]
    public void EmbeddingAdaptersFollowPeft()
    {
        using var scope = NewDisposeScope();
        var net = new Embedder();
        var ids = tensor(new long[] { 3, 0, 7, 7, 29, 0, 1, 12 }, [2, 4]);
        var before = Referee.Floats(net.call(ids));
        var wte = TorchLoraLayer.Attach(net, net.wte, paddingIdx: Embedder.PaddingIdx);
        var ad = wte.Add(Default, new TorchLoraConfig(4, 8, Dropout: 0.5));   // PEFT puts no dropout on embeddings
        Assert.Equal([4L, 30L], ad.MatrixA.shape);   // A [r, num_embeddings] = 0
        Assert.Equal([8L, 4L], ad.MatrixB.shape);    // B [dim, r] ~ N(0, 1)
        Assert.All(Referee.Floats(ad.MatrixA), a => Assert.Equal(0f, a));
        Assert.Contains(Referee.Floats(ad.MatrixB), b => Math.Abs(b) > 0.1);
        Assert.Equal(before, Referee.Floats(net.call(ids)));

        Train(wte);
        var e = net.wte.call(ids);
        using (var w = net.wte.weight!)
        {
            var expected = w.index_select(0, ids.reshape(-1)).reshape(2, 4, 8).to(float64)
                + (ad.MatrixA.t().index_select(0, ids.reshape(-1)).reshape(2, 4, 4).to(float64).matmul(ad.MatrixB.t().to(float64))) * ad.Scaling;
            Referee.AssertClose(expected, e, 1e-5, "embedding + LoRA");
        }
        // The padding id's column of A gets no gradient; the others do.
        using (var loss = net.call(ids).square().sum()) loss.backward();
        using var gA = ad.MatrixA.grad!;
        Assert.All(Referee.Floats(gA.select(1, Embedder.PaddingIdx)), g => Assert.Equal(0f, g));
        Assert.Contains(Referee.Floats(gA.select(1, 3)), g => g != 0);
        using (var gW = net.wte.weight!.grad) Assert.Null(gW);

        var unmerged = net.call(ids);
        wte.Merge();
        Referee.AssertClose(unmerged, net.call(ids), 1e-5, "embedding merged vs unmerged");
        wte.Unmerge();
        Referee.AssertClose(unmerged, net.call(ids), 1e-5, "embedding unmerged again");
    }

    [Fact]
    public void DropoutFollowsTheOwnersTrainingMode()
    {
        using var scope = NewDisposeScope();
        var (net, q, _) = Adapted(dropout: 0.5);
        Train(q);
        var x = randn(16, 12);
        net.train();
        Assert.True(Referee.MaxAbsDiff(net.q_proj.call(x), net.q_proj.call(x)) > 1e-4);
        net.eval();
        Assert.Equal(Referee.Floats(net.q_proj.call(x)), Referee.Floats(net.q_proj.call(x)));
        Referee.AssertClose(Expected(net.q_proj, q, x, Default), net.q_proj.call(x), 1e-5, "eval: no dropout");
    }

    [Fact]
    public void UnloadTakesLoraOffWithOrWithoutMerging()
    {
        using var scope = NewDisposeScope();
        var (net, q, v) = Adapted();
        Train(q);
        Train(v);
        var x = randn(4, 12);
        var withLora = net.call(x);

        q.Unload(merge: true);
        Assert.True(q.IsUnloaded);
        Assert.DoesNotContain(net.named_children(), c => c.name == "q_proj_lora");
        Assert.True(net.q_proj.weight.requires_grad);
        Referee.AssertClose(withLora, net.call(x), 1e-5, "merged and unloaded");
        Assert.Throws<InvalidOperationException>(() => q.Merge());

        var beforeV = Referee.Floats(net.v_proj.weight);
        v.Merge();
        v.Unload(merge: false);
        var afterV = Referee.Floats(net.v_proj.weight);
        for (int i = 0; i < beforeV.Length; i++) Assert.True(Math.Abs(beforeV[i] - afterV[i]) <= 1e-6);
        Assert.Empty(TorchLoraModules.Layers(net));
        Assert.All(net.parameters(), p => Assert.True(p.requires_grad));
    }

    [Fact]
    public void LayersKnowTheirModulePathsAndNameTheirTensorsWithPeftKeys()
    {
        using var scope = NewDisposeScope();
        var net = new Stack();
        var layers = new List<TorchLoraLayer>();
        foreach (var (_, block) in net.blocks.named_children())
        {
            var b = (TwoLayer)block;
            layers.Add(TorchLoraLayer.Attach(b, b.q_proj));
            layers.Add(TorchLoraLayer.Attach(b, b.v_proj));
        }
        var heads = TorchLoraLayer.Attach(net, (Linear)net.heads[1]);
        layers.Add(heads);
        foreach (var l in layers) l.Add(Default, new TorchLoraConfig(2, 4));

        Assert.Equal("heads.1", heads.TargetPath);
        Assert.Equal("heads_1_lora", heads.Name);
        Assert.Equal("q_proj_lora", layers[0].Name);
        var paths = TorchLoraModules.Layers(net).Select(l => l.ModulePath).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { "blocks.0.q_proj", "blocks.0.v_proj", "blocks.1.q_proj", "blocks.1.v_proj", "heads.1" }, paths);

        var tensors = TorchLoraModules.AdapterTensors(net, Default).ToDictionary(t => t.Key, t => t.Value);
        Assert.Equal(10, tensors.Count);
        Assert.Same(layers[0].Adapters[Default].MatrixA, tensors[AdapterKeys.A("blocks.0.q_proj", LayerKind.Linear)]);
        Assert.Same(heads.Adapters[Default].MatrixB, tensors[AdapterKeys.B("heads.1", LayerKind.Linear)]);
        Assert.Empty(TorchLoraModules.AdapterTensors(net, "other"));

        // A layer that is not in the owner's tree (never registered) is refused with the reason.
        var loose = nn.Linear(3, 3);
        Assert.Contains("RegisterComponents", Assert.Throws<ArgumentException>(() => TorchLoraLayer.Attach(net, loose)).Message);
    }

    [Fact]
    public void SettingsAndShapesAreChecked()
    {
        using var scope = NewDisposeScope();
        var net = new TwoLayer();
        var q = TorchLoraLayer.Attach(net, net.q_proj);
        Assert.Contains("rank", Assert.Throws<ArgumentException>(() => q.Add(Default, new TorchLoraConfig(0, 8))).Message);
        Assert.Contains("alpha", Assert.Throws<ArgumentException>(() => q.Add(Default, new TorchLoraConfig(4, -1))).Message);
        Assert.Contains("dropout", Assert.Throws<ArgumentException>(() => q.Add(Default, new TorchLoraConfig(4, 8, 1.0))).Message);
        Assert.Throws<ArgumentException>(() => q.Add("a.b", new TorchLoraConfig(4, 8)));
        Assert.Throws<ArgumentException>(() => TorchLoraLayer.Attach(net, net.v_proj, name: "v.lora"));
        q.Add(Default, new TorchLoraConfig(4, 8));
        Assert.Throws<InvalidOperationException>(() => q.Add(Default, new TorchLoraConfig(4, 8)));
        Assert.Throws<InvalidOperationException>(() => TorchLoraLayer.Attach(net, net.q_proj));
        Assert.Contains("already", Assert.Throws<InvalidOperationException>(() => TorchLoraLayer.Attach(net, net.q_proj, name: "other")).Message);

        var a = randn(2, 12);
        var b = randn(10, 2);
        Assert.Contains("[r, in]", Assert.Throws<ArgumentException>(() => q.Add("loaded", new TorchLoraConfig(3, 3), a, b)).Message);
        var loaded = q.Add("loaded", new TorchLoraConfig(2, 2), a, b);
        Assert.Equal(Referee.Floats(a), Referee.Floats(loaded.MatrixA));
        Assert.Equal(Referee.Floats(b), Referee.Floats(loaded.MatrixB));
        Assert.False(ReferenceEquals(a, loaded.MatrixA));
        Assert.True(loaded.MatrixA.requires_grad);

        // Gaussian init: A ~ N(0, 1/r).
        var wide = new OneLinear(4000, 3);
        var g = TorchLoraLayer.Attach(wide, wide.fc).Add(Default, new TorchLoraConfig(8, 8, Init: LoraInit.Gaussian), new Generator(7));
        var values = Referee.Floats(g.MatrixA);
        double std = Math.Sqrt(values.Average(v => (double)v * v));
        Assert.InRange(std, 0.125 * 0.95, 0.125 * 1.05);
    }
}
