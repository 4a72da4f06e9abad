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
/// VeRA and NoLA on the TorchSharp backend against the managed backend, same base weights: the frozen random matrices
/// come from the PEFT unit's one generator on both, a file saved on one backend loads on the other with outputs
/// ≤ 1e-5, and the files are byte for byte the same.
/// </summary>
[Collection(TorchGlobalRng.Name)]
public sealed class TorchBasisVariantTests : TwinBackendTests
{
    public TorchBasisVariantTests() : base("loragen-torch-basis-", 777) { }

    /// <summary>Random trainable vectors on the managed side, as training would leave them.</summary>
    private static void TrainManaged(LoraModelController lora, ulong seed)
    {
        var rng = new LoraGen.Tensors.Rng(seed);
        foreach (var p in lora.Parameters())
            foreach (ref var v in p.Data) v = (float)(rng.NextNormal() * 0.3);
    }

    private static void TrainTorch(TorchLoraModelController lora)
    {
        using var _ = torch.no_grad();
        foreach (var p in lora.Parameters()) nn.init.normal_(p, 0, 0.3);
    }

    public static TheoryData<LoraVariant, bool> Variants => new() { { LoraVariant.Vera, true }, { LoraVariant.Vera, false }, { LoraVariant.Nola, true } };

    private static LoraOverride ManagedConfig(LoraVariant v, bool saveProjection) =>
        new() { Variant = v, R = 4, ProjectionPrngKey = 11, SaveProjection = saveProjection, NumBasisA = 5, NumBasisB = 3 };

    private static TorchLoraOverride TorchConfig(LoraVariant v, bool saveProjection) =>
        new() { Variant = v, R = 4, ProjectionPrngKey = 11, SaveProjection = saveProjection, NumBasisA = 5, NumBasisB = 3 };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Managed_file_loads_on_TorchSharp_with_equal_outputs_gradients_and_bytes_and_back(LoraVariant variant, bool saveProjection)
    {
        var (managed, net, lora) = Twins();
        var baseOut = TorchOut(net);
        managed.Lora.Attach(seed: 5, config: ManagedConfig(variant, saveProjection));
        TrainManaged(managed.Lora, 9);
        managed.Lora.Save(Dir("managed"));

        lora.Load(Dir("managed"));
        Assert.Equal(variant, lora.VariantOf("default"));
        var expected = ManagedOut(managed);
        Assert.True(MaxDiff(expected, baseOut) > 1e-3);   // the adapter does something
        Assert.True(MaxDiff(expected, TorchOut(net)) <= 1e-5, $"{MaxDiff(expected, TorchOut(net))}");
        lora.Save(Dir("torch"));
        AssertSameFiles(Dir("managed"), Dir("torch"));

        // Gradients of Σy² reach the same vectors alike on both backends.
        var mx = managed.Forward(ManagedTensor.FromArray(Input, 3, 12));
        (mx * mx).Sum().Backward();
        var mgrads = managed.Lora.Parameters().Select(p => p.Grad!.ToArray()).ToList();
        using (var x = torch.tensor(Input, [3, 12]))
        using (var y = net.call(x))
        using (var loss = y.square().sum())
            loss.backward();
        var tgrads = lora.Parameters().Select(p => Floats(p.grad!)).ToList();
        Assert.Equal(variant == LoraVariant.Vera ? 4 : 4, tgrads.Count);   // two vectors on q_proj and v_proj
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
        managed2.Lora.Save(Dir("managed2"));
        AssertSameFiles(Dir("torch2"), Dir("managed2"));
    }

    [Fact]
    public void Vera_attach_makes_the_managed_backends_projections_and_file()
    {
        var (managed, net, lora) = Twins();
        var before = TorchOut(net);
        managed.Lora.Attach(config: ManagedConfig(LoraVariant.Vera, true));
        lora.Attach(config: TorchConfig(LoraVariant.Vera, true));
        Assert.True(MaxDiff(before, TorchOut(net)) <= 1e-7);   // λ_b = 0: the model is unchanged
        var ps = lora.Parameters().ToList();
        Assert.Equal([4L], ps[0].shape);    // q_proj λ_d [r]
        Assert.Equal([10L], ps[1].shape);   // q_proj λ_b [out]
        Assert.Equal([6L], ps[3].shape);    // v_proj λ_b
        Assert.Contains("trainable params: 24 ", lora.Summary());   // (4 + 10) + (4 + 6)
        // λ_b = 0 and λ_d = d_initial on both, and the projections from the same generator: the files are equal.
        managed.Lora.Save(Dir("managed"));
        lora.Save(Dir("torch"));
        AssertSameFiles(Dir("managed"), Dir("torch"));
        using var files = AdapterDirectory.OpenBasis(Dir("torch")).Weights;
        Assert.Equal([4L, 12L], files.Info("base_model.vera_A").Shape);
        Assert.Equal([10L, 4L], files.Info("base_model.vera_B").Shape);
    }

    [Theory]
    [InlineData(LoraVariant.Vera)]
    [InlineData(LoraVariant.Nola)]
    public void Merge_equals_the_unmerged_forward_and_unmerge_restores_W_exactly(LoraVariant variant)
    {
        var (_, net, lora) = Twins();
        lora.Attach(config: TorchConfig(variant, true));
        TrainTorch(lora);
        var unmerged = TorchOut(net);
        var w0 = Floats(net.q_proj.weight!);
        lora.Merge(safe: true);
        Assert.True(lora.IsMerged);
        Assert.True(MaxDiff(unmerged, TorchOut(net)) <= 1e-5);
        Assert.True(MaxDiff(w0, Floats(net.q_proj.weight!)) > 1e-4);
        lora.Unmerge();
        Assert.False(lora.IsMerged);
        Assert.Equal(w0, Floats(net.q_proj.weight!));
        Assert.True(MaxDiff(unmerged, TorchOut(net)) <= 1e-6);
        using (lora.Disable()) Assert.True(MaxDiff(unmerged, TorchOut(net)) > 1e-4);
        lora.MergeAndUnload();
        Assert.True(MaxDiff(unmerged, TorchOut(net)) <= 1e-5);
        Assert.Empty(lora.Names);
    }

    [Fact]
    public void Nola_trains_only_its_coefficients_whatever_the_rank()
    {
        var (_, _, lora) = Twins();
        lora.Attach(config: new TorchLoraOverride { Variant = LoraVariant.Nola, R = 4, NumBasisA = 5, NumBasisB = 3 });
        Assert.Equal([5L, 3L, 5L, 3L], lora.Parameters().Select(p => p.shape[0]));
        Assert.Contains("trainable params: 16 ", lora.Summary());
        lora.Delete("default");
        lora.Attach("big", config: new TorchLoraOverride { Variant = LoraVariant.Nola, R = 8, NumBasisA = 5, NumBasisB = 3 });
        Assert.Contains("trainable params: 16 ", lora.Summary());
    }

    [Fact]
    public void Refusals_are_clear_and_change_nothing()
    {
        var emb = new Embedder();
        var elora = new TorchLoraModelController(emb, TorchLoraModelOptions.FromFieldsOnly);
        var e = Assert.Throws<InvalidOperationException>(() => elora.Attach(config: new TorchLoraOverride { Variant = LoraVariant.Vera, TargetModules = ["wte", "head"] }));
        Assert.Contains("wte: Vera adapts Linear layers only", e.Message);
        Assert.Empty(elora.Names);

        var (_, _, lora) = Twins();
        lora.Attach(config: TorchConfig(LoraVariant.Vera, true));
        var mixed = Assert.Throws<InvalidOperationException>(() => lora.Attach("plain"));
        Assert.Contains("cannot share a layer", mixed.Message);
        lora.Save(Dir("vera"));
        Assert.Throws<InvalidOperationException>(() => lora.HotSwap(Dir("vera")));
        Assert.Throws<ArgumentException>(() => lora.Attach("dora", config: new TorchLoraOverride { Variant = LoraVariant.Vera, UseDora = true }));
    }
}
