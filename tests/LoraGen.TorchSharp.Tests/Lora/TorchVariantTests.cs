using LoraGen.Lora;
using LoraGen.Autograd;
using LoraGen.Ops;
using LoraGen.Peft;
using LoraGen.Torch;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using ManagedTensor = LoraGen.Tensors.Tensor;

namespace LoraGen.TorchSharp.Tests.Lora;

/// <summary>
/// The LoRA variants on the TorchSharp backend against the managed backend, same base weights: DoRA, PiSSA/OLoRA,
/// LoRA+ groups and weighted combination. Each saves on one backend and loads on the other, and the files are byte
/// for byte the managed backend's.
/// </summary>
[Collection(TorchGlobalRng.Name)]
public sealed class TorchVariantTests : TwinBackendTests
{
    public TorchVariantTests() : base("loragen-torch-variants-", 424242) { }

    /// <summary>Random B (and DoRA magnitudes) on the managed side, as training would leave them.</summary>
    private static void TrainManaged(LoraModelController lora, ulong seed)
    {
        var rng = new LoraGen.Tensors.Rng(seed);
        foreach (var p in lora.Parameters())
        {
            if (p.Rank == 1) foreach (ref var v in p.Data) v *= (float)(1 + 0.2 * rng.NextNormal());   // DoRA magnitude
            else if (p.Dim(1) <= 4) foreach (ref var v in p.Data) v = (float)(rng.NextNormal() * 0.3);   // B [out, r]
        }
    }

    /// <summary>Random B (and a nudge to DoRA magnitudes) on the TorchSharp side.</summary>
    private static void TrainTorch(TorchLoraModelController lora, double std = 0.3)
    {
        using var _ = torch.no_grad();
        foreach (var p in lora.Parameters())
        {
            if (p.dim() == 1) p.mul_(1.1);
            else if (p.shape[1] <= 4) nn.init.normal_(p, 0, std);
        }
    }

    // ------------------------------------------------------------------ DoRA

    [Fact]
    public void Dora_attach_leaves_outputs_unchanged_and_trains_the_magnitude()
    {
        var (_, net, lora) = Twins();
        var before = TorchOut(net);
        lora.Attach(config: new TorchLoraOverride { UseDora = true });
        Assert.True(MaxDiff(before, TorchOut(net)) <= 1e-6);   // k = m/‖W‖ = 1, the base path recomputed in the DoRA form
        var ps = lora.Parameters().ToList();
        Assert.Equal(6, ps.Count);   // A, B, m of q_proj and v_proj
        Assert.Equal([10L], ps[2].shape);
        Assert.Equal([6L], ps[5].shape);
        // m starts at ‖W‖ per output row (B = 0).
        using var norm = net.q_proj.weight!.norm(1);
        Assert.True(MaxDiff(Floats(norm), Floats(ps[2])) <= 1e-6);
        Assert.Contains("trainable params: 136 ", lora.Summary());   // 120 + 10 + 6
    }

    [Fact]
    public void Dora_managed_file_loads_on_TorchSharp_with_equal_outputs_gradients_and_bytes_and_back()
    {
        var (managed, net, lora) = Twins();
        managed.Lora.Attach(seed: 5, config: new LoraOverride { UseDora = true });
        TrainManaged(managed.Lora, 9);
        managed.Lora.Save(Dir("managed"));
        using (var files = AdapterDirectory.Open(Dir("managed")))
        {
            Assert.True(files.Config.UseDora);
            Assert.True(files.Weights.Contains(AdapterKeys.Magnitude("q_proj")));
        }

        lora.Load(Dir("managed"));
        var expected = ManagedOut(managed);
        Assert.True(MaxDiff(expected, TorchOut(net)) <= 1e-5);
        lora.Save(Dir("torch"));
        AssertSameFiles(Dir("managed"), Dir("torch"));

        // Gradients of Σy² reach A, B and m alike on both backends (the norm is a constant in both).
        var mx = managed.Forward(ManagedTensor.FromArray(Input, 3, 12));
        (mx * mx).Sum().Backward();
        var mgrads = managed.Lora.Parameters().Select(p => p.Grad!.ToArray()).ToList();
        using (var x = torch.tensor(Input, [3, 12]))
        using (var y = net.call(x))
        using (var loss = y.square().sum())
            loss.backward();
        var tgrads = lora.Parameters().Select(p => Floats(p.grad!)).ToList();
        Assert.Equal(mgrads.Count, tgrads.Count);
        for (int i = 0; i < mgrads.Count; i++)
        {
            double scale = Math.Max(1, mgrads[i].Max(Math.Abs));
            Assert.True(MaxDiff(mgrads[i], tgrads[i]) <= 1e-4 * scale, $"gradient {i}: {MaxDiff(mgrads[i], tgrads[i])}");
        }

        // TorchSharp → file → the managed backend.
        TrainTorch(lora);
        lora.Save(Dir("torch2"));
        var managed2 = new ManagedPair();
        managed2.Lora.Load(Dir("torch2"));
        Assert.True(MaxDiff(ManagedOut(managed2), TorchOut(net)) <= 1e-5);
    }

    [Fact]
    public void Dora_merge_equals_the_unmerged_forward_and_unmerge_restores_W_exactly()
    {
        var (_, net, lora) = Twins();
        lora.Attach(config: new TorchLoraOverride { UseDora = true, LoraDropout = 0 });
        TrainTorch(lora);
        var unmerged = TorchOut(net);
        var w0 = Floats(net.q_proj.weight!);
        lora.Merge(safe: true);
        Assert.True(lora.IsMerged);
        Assert.True(MaxDiff(unmerged, TorchOut(net)) <= 1e-5);
        Assert.True(MaxDiff(w0, Floats(net.q_proj.weight!)) > 1e-3);
        lora.Unmerge();
        Assert.Equal(w0, Floats(net.q_proj.weight!));
        Assert.True(MaxDiff(unmerged, TorchOut(net)) <= 1e-6);
    }

    [Fact]
    public void Dora_embedding_merges_to_the_unmerged_output_and_its_norm_gets_no_gradient()
    {
        torch.manual_seed(3);
        var net = new Embedder();
        var layer = TorchLoraLayer.Attach(net, net.wte);
        var ad = layer.Add("default", new TorchLoraConfig(3, 6, UseDora: true));
        using (torch.no_grad())
        {
            nn.init.normal_(ad.MatrixA, 0, 0.5);
            ad.Magnitude!.mul_(1.2);
        }
        using var ids = torch.tensor(new long[] { 1, 4, 7, 29, 0, 4 }, [2, 3]);
        Tensor Run()
        {
            using var _ = torch.no_grad();
            return net.call(ids);
        }
        using var unmerged = Run();
        layer.Merge();
        using var merged = Run();
        Assert.True(MaxDiff(Floats(unmerged), Floats(merged)) <= 1e-5);
        layer.Unmerge();

        // With B = 0 and m = ‖W‖ the layer is the base; d(Σ out)/dm_j = Σ_tokens e_j/‖W_:,j‖ exactly when the norm is constant.
        var plain = new Embedder();
        var l2 = TorchLoraLayer.Attach(plain, plain.wte);
        var ad2 = l2.Add("default", new TorchLoraConfig(3, 6, UseDora: true));
        using (var e = plain.wte.call(ids))
        using (var s = e.sum())
            s.backward();
        using var w = plain.wte.weight!.detach();
        using var sq = w.square();
        using var colSum = sq.sum(dim: 0L);
        using var colNorm = colSum.sqrt();
        using var rows = w.index_select(0, ids.reshape(-1));
        using var rowSum = rows.sum(dim: 0L);
        using var expected = rowSum.div(colNorm);
        Assert.True(MaxDiff(Floats(expected), Floats(ad2.Magnitude!.grad!)) <= 1e-5, string.Join(",", Floats(expected)) + " vs " + string.Join(",", Floats(ad2.Magnitude!.grad!)));
    }

    [Fact]
    public void Dora_and_plain_adapters_do_not_mix_and_hot_swap_checks_the_variant()
    {
        var (_, _, lora) = Twins();
        lora.Attach(config: new TorchLoraOverride { UseDora = true });
        lora.Save(Dir("dora"));
        var (_, _, plain) = Twins();
        plain.Attach();
        plain.Save(Dir("plain"));
        var e = Assert.Throws<LoraAdapterException>(() => lora.HotSwap(Dir("plain")));
        Assert.Contains(AdapterKeys.Magnitude("q_proj"), e.Missing);
        lora.HotSwap(Dir("dora"));
        Assert.Throws<ArgumentException>(() => lora.AddWeightedAdapter(["default"], [1.0], "mix", "linear"));
    }

    // ------------------------------------------------------------------ PiSSA / OLoRA

    [Theory]
    [InlineData(LoraInit.Pissa)]
    [InlineData(LoraInit.Olora)]
    public void Residual_init_matches_the_managed_backend_and_saves_as_plain_LoRA_of_the_original_weights(LoraInit init)
    {
        var (managed, net, lora) = Twins();
        var before = TorchOut(net);
        var w0 = Floats(net.q_proj.weight!);
        managed.Lora.Attach(config: new LoraOverride { Init = init });
        lora.Attach(config: new TorchLoraOverride { Init = init });
        Assert.True(MaxDiff(before, TorchOut(net)) <= 1e-5);
        Assert.True(MaxDiff(w0, Floats(net.q_proj.weight!)) > 1e-3);   // W is now the residual
        Assert.Equal(managed.q_proj.Weight.ToArray(), Floats(net.q_proj.weight!));
        var mp = managed.Lora.Parameters().ToList();
        var tp = lora.Parameters().ToList();
        for (int i = 0; i < mp.Count; i++) Assert.Equal(mp[i].ToArray(), Floats(tp[i]));

        managed.Lora.Save(Dir("managed"));
        lora.Save(Dir("torch"));
        AssertSameFiles(Dir("managed"), Dir("torch"));
        using (var files = AdapterDirectory.Open(Dir("torch")))
        {
            Assert.Equal(8, files.Config.RankFor("q_proj"));
            Assert.Equal(InitLoraWeights.Default, files.Config.InitLoraWeights);
        }

        // Trained, saved, and loaded on the untouched base (both backends): the same outputs as the residual model.
        TrainTorch(lora);
        var trained = TorchOut(net);
        lora.Save(Dir("trained"));
        var (managed2, net2, lora2) = Twins();
        lora2.Load(Dir("trained"));
        Assert.True(MaxDiff(trained, TorchOut(net2)) <= 1e-5);
        managed2.Lora.Load(Dir("trained"));
        Assert.True(MaxDiff(trained, ManagedOut(managed2)) <= 1e-5);
    }

    [Fact]
    public void Residual_init_is_refused_on_embeddings_with_DoRA_and_on_residual_files()
    {
        var (_, net, lora) = Twins();
        Assert.Throws<ArgumentException>(() => lora.Attach(config: new TorchLoraOverride { Init = LoraInit.Pissa, UseDora = true }));
        Assert.Empty(lora.Names);
        Assert.Empty(TorchLoraModules.Layers(net));
        var emb = new Embedder();
        var layer = TorchLoraLayer.Attach(emb, emb.wte);
        Assert.Throws<ArgumentException>(() => layer.Add("default", new TorchLoraConfig(2, 4, Init: LoraInit.Olora)));

        lora.Attach();
        lora.Save(Dir("plain"));
        using (var files = AdapterDirectory.Open(Dir("plain")))
            AdapterDirectory.Save(Dir("pissa"), files.Config with { InitLoraWeights = InitLoraWeights.FromMethod("pissa") },
                files.Weights.Tensors.Select(t => LoraGen.SafeTensors.SafetensorsEntry.FromFloats(t.Name, t.Shape.ToArray(), files.Weights.ReadFloats(t.Name))).ToList());
        var (_, _, other) = Twins();
        var e = Assert.Throws<LoraAdapterException>(() => other.Load(Dir("pissa")));
        Assert.Contains("pissa", e.Message);
        Assert.Empty(other.Names);
    }

    // ------------------------------------------------------------------ LoRA+

    [Fact]
    public void LoraPlus_groups_match_the_managed_backend_and_B_learns_sixteen_times_faster()
    {
        var (managed, net, lora) = Twins();
        managed.Lora.Attach(config: new LoraOverride { UseDora = true });
        lora.Attach(config: new TorchLoraOverride { UseDora = true });
        var mg = LoraPlus.Groups(managed.Lora, 1e-3f, weightDecay: 0.01f);
        var tg = TorchLoraPlus.Groups(lora, 1e-3, weightDecay: 0.01);
        Assert.Equal(mg.Select(g => g.Name), tg.Select(g => g.Name));
        Assert.Equal(["groupA", "groupB"], tg.Select(g => g.Name));
        for (int i = 0; i < mg.Count; i++)
        {
            Assert.Equal(mg[i].Params.Select(p => (long)p.Size), tg[i].Parameters.Select(p => p.numel()));
            Assert.Equal(mg[i].Lr, tg[i].LearningRate, 1e-9);
            Assert.Equal(mg[i].WeightDecay, tg[i].WeightDecay, 1e-9);
        }
        Assert.Equal(16e-3, tg[1].LearningRate, 12);

        // One AdamW step moves every element by ≈ lr (Adam's first step is lr·sign(g)): B by 16× A's step.
        var opt = TorchLoraPlus.CreateOptimizer(lora, 1e-3);
        TrainTorch(lora);   // B ≠ 0, so A gets a gradient
        var a0 = Floats(lora.Parameters().First());
        var b0 = Floats(lora.Parameters().Skip(1).First());
        using (var x = torch.tensor(Input, [3, 12]))
        using (var y = net.call(x))
        using (var loss = y.square().sum())
            loss.backward();
        opt.step();
        double stepA = MaxDiff(a0, Floats(lora.Parameters().First()));
        double stepB = MaxDiff(b0, Floats(lora.Parameters().Skip(1).First()));
        Assert.InRange(stepA, 0.9e-3, 1.1e-3);
        Assert.InRange(stepB, 0.9 * 16e-3, 1.1 * 16e-3);
        Assert.Throws<ArgumentException>(() => TorchLoraPlus.Groups(lora, 1e-3, lrRatio: 0));
    }

    [Fact]
    public void LoraFA_freezes_A_of_linear_layers()
    {
        var (_, _, lora) = Twins();
        lora.Attach(config: new TorchLoraOverride { FreezeA = true });
        Assert.Equal(2, lora.Parameters().Count());
        Assert.Equal([[10L, 4L], [6L, 2L]], lora.Parameters().Select(p => p.shape));   // B of q_proj and v_proj
        Assert.Equal(["groupB"], TorchLoraPlus.Groups(lora, 1e-3).Select(g => g.Name));
    }

    // ------------------------------------------------------------------ weighted combination

    [Theory]
    [InlineData("svd", null)]
    [InlineData("linear", null)]
    [InlineData("cat", null)]
    [InlineData("ties", 0.5)]
    [InlineData("dare_linear", 0.5)]
    [InlineData("magnitude_prune", 0.3)]
    public void Weighted_adapter_is_the_managed_backends_byte_for_byte(string type, double? density)
    {
        var (managed, net, lora) = Twins();
        var sameRank = new LoraOverride { R = 4, LoraAlpha = 8 };   // linear, ties and DARE need one rank at every layer
        managed.Lora.Attach("one", seed: 1, config: sameRank);
        TrainManaged(managed.Lora, 11);
        managed.Lora.Attach("two", seed: 2, config: sameRank);
        managed.Lora.SetActive("two");
        TrainManaged(managed.Lora, 12);
        managed.Lora.Save(Dir("one"), "one");
        managed.Lora.Save(Dir("two"), "two");
        lora.Load(LoraModelController.DirectoryFor(Dir("one"), "one"), "one");
        lora.Load(LoraModelController.DirectoryFor(Dir("two"), "two"), "two");

        managed.Lora.AddWeightedAdapter(["one", "two"], [0.7, 0.4], "mix", type, density: density, seed: 3);
        lora.AddWeightedAdapter(["one", "two"], [0.7, 0.4], "mix", type, density: density, seed: 3);
        Assert.Equal("one", lora.Active);
        managed.Lora.Save(Dir("m"), "mix");
        lora.Save(Dir("t"), "mix");
        AssertSameFiles(LoraModelController.DirectoryFor(Dir("m"), "mix"), Dir("t"));
        managed.Lora.SetActive("mix");
        lora.SetActive("mix");
        Assert.True(MaxDiff(ManagedOut(managed), TorchOut(net)) <= 1e-5);
        Assert.Throws<InvalidOperationException>(() => lora.AddWeightedAdapter(["one"], [1.0], "mix", "linear"));
        Assert.Throws<KeyNotFoundException>(() => lora.AddWeightedAdapter(["nope"], [1.0], "mix2", "linear"));
    }
}
