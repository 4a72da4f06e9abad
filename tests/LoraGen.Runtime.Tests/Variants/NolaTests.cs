using System.Text.Json;
using LoraGen.Autograd;
using LoraGen.Lora;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using LoraGen.Tensors;
using Xunit;
using Xunit.Abstractions;

namespace LoraGen.Runtime.Tests.Variants;

/// <summary>NoLA: forward/backward against PyTorch, finite differences, pinned bases, merge, LoraGen's file format.</summary>
public sealed class NolaTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("loragen-nola-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Tensor F(string key) => BasisFixtures.Load(key);

    private void Close(Tensor expected, Tensor actual, float rtol, string what)
    {
        output.WriteLine($"{what}: max |err| {VariantFixtures.MaxAbsError(expected, actual):G3}");
        TestUtil.AssertClose(expected, actual, rtol, what);
    }

    private static readonly LoraOverride Nola = new() { Variant = LoraVariant.Nola, NumBasisA = 5, NumBasisB = 3, ProjectionPrngKey = 42 };

    private static NolaAdapter AdapterOf(Linear layer, string name = "default") => (NolaAdapter)((BasisSlot)layer.Adapter!).Adapters[name];

    [Fact]
    public void ForwardAndBackwardMatchPyTorch()
    {
        // The fixture's bases (k_A 5, k_B 3, r 4) on a layer [6, 7], scaling 2.
        var layer = new Linear(7, 6, bias: false);
        layer.Weight.CopyFrom(F("nola.w"));
        layer.Freeze();
        var alpha = F("nola.alpha");
        var beta = F("nola.beta");
        alpha.RequiresGrad = beta.RequiresGrad = true;
        var ad = new NolaAdapter(F("nola.bases_a"), F("nola.bases_b"), 4, 6, 7, alpha, beta, 2f, 0, new Rng(1));
        var slot = new BasisSlot(layer, "proj");
        slot.Add("default", ad);
        layer.Adapter = slot;
        var y = layer.Forward(F("nola.x"));
        Close(F("nola.y"), y, 1e-5f, "nola y");
        (y * F("nola.g")).Sum().Backward();
        Close(F("nola.grad_alpha"), alpha.Grad!, 1e-4f, "nola dα");
        Close(F("nola.grad_beta"), beta.Grad!, 1e-4f, "nola dβ");
        Assert.Null(ad.BasesA.Grad);
        Close(F("nola.delta"), Tensor.FromArray(ad.Delta(), 6, 7), 1e-5f, "nola ΔW");
        Assert.Equal(["nola_alpha.default", "nola_beta.default"], layer.AdapterParameters().Select(p => p.Name));
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        var (ba, bb) = NolaBases.Generate(3, "h.0.proj", 4, 3, 2, 5, 6);
        var x = GradCheckTests.Input(new Rng(4), 3, 5);
        GradCheckTests.GradCheck(
            t => new NolaAdapter(ba, bb, 2, 6, 5, t[0], t[1], 1.5f, 0, new Rng(1)).Contribution(x, training: false),
            GradCheckTests.Input(new Rng(5), 4), GradCheckTests.Input(new Rng(6), 3));
    }

    [Fact]
    public void BasesArePinnedAcrossRunsAndMachines()
    {
        // loragen-xoshiro128ss-v1 (docs/nola-format.md): these values may never change, or saved NoLA adapters break.
        var (a, b) = NolaBases.Generate(42, "h.0.attn.c_attn", 2, 2, 4, 8, 6);
        Assert.Equal(new[] { 2, 32 }, a.Shape.ToArray());
        Assert.Equal(new[] { 2, 24 }, b.Shape.ToArray());
        float[] pinnedA = [PinA0, PinA1, PinA2], pinnedB = [PinB0, PinB1, PinB2];
        Assert.Equal(pinnedA, new[] { a.Data[0], a.Data[1], a.Data[63] });
        Assert.Equal(pinnedB, new[] { b.Data[0], b.Data[1], b.Data[47] });
        Assert.Equal(PinnedLayerSeed, NolaBases.LayerSeed(42, "h.0.attn.c_attn"));
        // Another path or seed gives other bases; the same ones give the same.
        Assert.Equal(a.ToArray(), NolaBases.Generate(42, "h.0.attn.c_attn", 2, 2, 4, 8, 6).A.ToArray());
        Assert.NotEqual(a.ToArray(), NolaBases.Generate(42, "h.1.attn.c_attn", 2, 2, 4, 8, 6).A.ToArray());
        Assert.NotEqual(a.ToArray(), NolaBases.Generate(43, "h.0.attn.c_attn", 2, 2, 4, 8, 6).A.ToArray());
        float bound = 1f / MathF.Sqrt(8);
        Assert.All(a.ToArray(), v => Assert.InRange(v, -bound, bound));
    }

    private const ulong PinnedLayerSeed = 0xB52E004540917DD7UL;

    // From tools/nola_bases_reference.py, an independent Python implementation of the documented generator.
    private const float PinA0 = -0.32432526f, PinA1 = 0.101469934f, PinA2 = 0.3035554f, PinB0 = 0.028275967f, PinB1 = 0.4541672f, PinB2 = 0.08129454f;

    [Theory]
    [InlineData(2, 5, 3)]
    [InlineData(8, 5, 3)]
    [InlineData(4, 16, 1)]
    public void TrainsKaPlusKbNumbersPerLayerWhateverTheRankAndShape(int r, int ka, int kb)
    {
        var model = new BasisFixtures.TwoLayers();
        model.Lora.Attach(config: Nola with { R = r, NumBasisA = ka, NumBasisB = kb });
        var sizes = model.Lora.Parameters().Select(p => p.Size).ToList();
        Assert.Equal([ka, kb, ka, kb], sizes);   // layers [10, 12] and [6, 5] alike
        Assert.StartsWith($"trainable params: {2 * (ka + kb)} ||", model.Lora.Summary());
    }

    private static BasisFixtures.TwoLayers TrainedModel()
    {
        var model = new BasisFixtures.TwoLayers();
        model.Lora.Attach(config: Nola);
        var rng = new Rng(9);
        foreach (var layer in new[] { model.Q, model.V })
            AdapterOf(layer).Beta.CopyFrom(Tensor.Randn(rng, 1f, 3));   // as if trained: β ≠ 0
        return model;
    }

    [Fact]
    public void FreshAdapterLeavesOutputUnchanged()
    {
        var model = new BasisFixtures.TwoLayers();
        var x = Tensor.Randn(new Rng(3), 1f, 2, 12);
        var before = model.Q.Forward(x).ToArray();
        model.Lora.Attach(config: Nola);
        Assert.Equal(before, model.Q.Forward(x).ToArray());
        Assert.Equal(LoraVariant.Nola, model.Lora.VariantOf("default"));
    }

    [Fact]
    public void MergeEqualsUnmergedAndUnmergeRestoresBitForBit()
    {
        var model = TrainedModel();
        var x = Tensor.Randn(new Rng(3), 1f, 2, 12);
        var w0 = model.Q.Weight.ToArray();
        var unmerged = model.Q.Forward(x);
        model.Lora.Merge(safe: true);
        Close(unmerged, model.Q.Forward(x), 1e-5f, "nola merged");
        var step = Assert.Throws<InvalidOperationException>(() => new Optim.Sgd(model.Lora.Parameters(), 0.1f).Step());
        Assert.Contains("Unmerge", step.Message);
        model.Lora.Unmerge();
        Assert.Equal(w0, model.Q.Weight.ToArray());
    }

    [Fact]
    public void SaveThenLoadIsExact()
    {
        var model = TrainedModel();
        model.Lora.Save(_dir);
        using (var file = SafetensorsFile.Open(Path.Combine(_dir, AdapterKeys.WeightsFile)))
        {
            Assert.Equal(["base_model.model.q.nola_alpha", "base_model.model.q.nola_beta", "base_model.model.v.nola_alpha", "base_model.model.v.nola_beta"],
                file.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
            Assert.Equal("loragen-xoshiro128ss-v1", file.Metadata["loragen.nola.generator"]);
            Assert.Equal("42", file.Metadata["loragen.nola.seed"]);
            Assert.Equal("5", file.Metadata["loragen.nola.num_basis_a"]);
            Assert.Equal("3", file.Metadata["loragen.nola.num_basis_b"]);
            Assert.Equal("4", file.Metadata["loragen.nola.r"]);
        }
        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, AdapterKeys.ConfigFile))))
        {
            var c = doc.RootElement;
            Assert.Equal("NOLA", c.GetProperty("peft_type").GetString());
            Assert.Equal(42, c.GetProperty("nola_seed").GetInt64());
            Assert.Equal(8, c.GetProperty("lora_alpha").GetDouble());
        }
        var fresh = new BasisFixtures.TwoLayers();
        fresh.Q.Weight.CopyFrom(model.Q.Weight);
        fresh.Lora.Load(_dir, isTrainable: true);
        var x = Tensor.Randn(new Rng(3), 1f, 2, 12);
        Assert.Equal(model.Q.Forward(x).ToArray(), fresh.Q.Forward(x).ToArray());
        Assert.Equal(AdapterOf(model.Q).BasesA.ToArray(), AdapterOf(fresh.Q).BasesA.ToArray());
        Assert.Equal(2 * (5 + 3), fresh.Lora.Parameters().Sum(p => p.Size));
    }

    [Fact]
    public void MetadataThatDisagreesWithTheConfigIsRefused()
    {
        var model = TrainedModel();
        model.Lora.Save(_dir);
        var path = Path.Combine(_dir, AdapterKeys.ConfigFile);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"nola_seed\": 42", "\"nola_seed\": 7"));
        var fresh = new BasisFixtures.TwoLayers();
        var e = Assert.Throws<LoraAdapterException>(() => fresh.Lora.Load(_dir));
        Assert.Contains("loragen.nola.seed", e.Message);
        Assert.Null(fresh.Q.Adapter);
    }

    [Fact]
    public void FewerThanOneBasisIsRefused()
    {
        var model = new BasisFixtures.TwoLayers();
        Assert.Throws<ArgumentException>(() => model.Lora.Attach(config: Nola with { NumBasisA = 0 }));
        var bad = new BasisAdapterConfig { Variant = LoraVariant.Nola, NumBasisB = 0 };
        var e = Assert.Throws<AdapterConfigException>(() => bad.ToJson());
        Assert.Equal("num_basis_b", e.Field);
    }
}
