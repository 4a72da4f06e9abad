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

/// <summary>VeRA: PEFT's projections bit for bit, forward/backward against PyTorch, finite differences, merge, PEFT's file layout.</summary>
public sealed class VeraTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("loragen-vera-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Tensor F(string key) => BasisFixtures.Load(key);

    private void Close(Tensor expected, Tensor actual, float rtol, string what)
    {
        output.WriteLine($"{what}: max |err| {VariantFixtures.MaxAbsError(expected, actual):G3}");
        TestUtil.AssertClose(expected, actual, rtol, what);
    }

    private static readonly LoraOverride Vera = new() { Variant = LoraVariant.Vera };

    private static VeraAdapter AdapterOf(Linear layer, string name = "default") => (VeraAdapter)((BasisSlot)layer.Adapter!).Adapters[name];

    [Theory]
    [InlineData(0L, 4, 12, 10)]
    [InlineData(123456789L, 16, 300, 200)]
    public void ProjectionsEqualTorchGeneratorBitForBit(long seed, int r, int maxIn, int maxOut)
    {
        var p = VeraProjection.Generate(seed, r, maxIn, maxOut);
        Assert.Equal(F($"proj.{seed}.A").ToArray(), p.A.ToArray());   // exact: same generator, same float operations
        Assert.Equal(F($"proj.{seed}.B").ToArray(), p.B.ToArray());
    }

    /// <summary>The fixture model with VeRA (r 4, key 0: projection [4, 12] and [10, 4]) and the fixture's weights and λ.</summary>
    private static BasisFixtures.TwoLayers FixtureModel()
    {
        var model = new BasisFixtures.TwoLayers();
        model.Lora.Attach(config: Vera);
        foreach (var (name, layer) in new[] { ("q", model.Q), ("v", model.V) })
        {
            layer.Weight.CopyFrom(F($"vera.{name}.w"));
            AdapterOf(layer).LambdaB.CopyFrom(F($"vera.{name}.lambda_b"));
            AdapterOf(layer).LambdaD.CopyFrom(F($"vera.{name}.lambda_d"));
        }
        return model;
    }

    [Fact]
    public void ForwardAndBackwardMatchPyTorch()
    {
        var model = FixtureModel();
        foreach (var (name, layer) in new[] { ("q", model.Q), ("v", model.V) })
        {
            var y = layer.Forward(F($"vera.{name}.x"));
            Close(F($"vera.{name}.y"), y, 1e-5f, $"vera {name} y");
            (y * F($"vera.{name}.g")).Sum().Backward();
            Close(F($"vera.{name}.grad_lambda_b"), AdapterOf(layer).LambdaB.Grad!, 1e-4f, $"vera {name} dλ_b");
            Close(F($"vera.{name}.grad_lambda_d"), AdapterOf(layer).LambdaD.Grad!, 1e-4f, $"vera {name} dλ_d");
            Assert.Null(layer.Weight.Grad);
            Assert.False(AdapterOf(layer).A.RequiresGrad);
            Assert.Null(AdapterOf(layer).A.Grad);
            Close(F($"vera.{name}.delta"), Tensor.FromArray(AdapterOf(layer).Delta(), layer.Weight.Shape.ToArray()), 1e-5f, $"vera {name} ΔW");
        }
        // Both layers slice the one shared projection.
        Assert.Same(AdapterOf(model.Q).Projection, AdapterOf(model.V).Projection);
    }

    [Fact]
    public void FreshAdapterLeavesOutputUnchangedAndStartsAtPeftsValues()
    {
        var model = new BasisFixtures.TwoLayers();
        var x = Tensor.Randn(new Rng(3), 1f, 2, 12);
        var before = model.Q.Forward(x).ToArray();
        model.Lora.Attach(config: Vera with { DInitial = 0.25 });
        Assert.Equal(before, model.Q.Forward(x).ToArray());
        Assert.All(AdapterOf(model.Q).LambdaB.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(AdapterOf(model.Q).LambdaD.ToArray(), v => Assert.Equal(0.25f, v));
        Assert.Equal(LoraVariant.Vera, model.Lora.VariantOf("default"));
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        var p = VeraProjection.Generate(5, 3, 7, 6);
        var x = GradCheckTests.Input(new Rng(4), 2, 7);
        GradCheckTests.GradCheck(
            t => new VeraAdapter(p, 6, 7, t[0], t[1], 0, new Rng(1)).Contribution(x, training: false),
            GradCheckTests.Input(new Rng(5), 6), GradCheckTests.Input(new Rng(6), 3));
    }

    [Fact]
    public void TrainsRPlusOutNumbersPerLayer()
    {
        foreach (int r in new[] { 2, 4, 16 })
        {
            var model = new BasisFixtures.TwoLayers();
            model.Lora.Attach(config: Vera with { R = r });
            var sizes = model.Lora.Parameters().Select(p => p.Size).ToList();
            Assert.Equal([r, 10, r, 6], sizes);   // λ_d [r] and λ_b [out] per layer, nothing else
            Assert.Equal((r + 10) + (r + 6), sizes.Sum());
            Assert.StartsWith($"trainable params: {(r + 10) + (r + 6)} ||", model.Lora.Summary());
        }
    }

    [Fact]
    public void MergeEqualsUnmergedAndUnmergeRestoresBitForBit()
    {
        var model = FixtureModel();
        var x = F("vera.q.x");
        var w0 = model.Q.Weight.ToArray();
        var unmerged = model.Q.Forward(x);
        model.Lora.Merge();
        Assert.True(model.Lora.IsMerged);
        Close(unmerged, model.Q.Forward(x), 1e-5f, "vera merged");
        model.Lora.Merge();   // a no-op
        Close(unmerged, model.Q.Forward(x), 1e-5f, "vera merged twice");
        model.Lora.Unmerge();
        Assert.Equal(w0, model.Q.Weight.ToArray());
        Close(unmerged, model.Q.Forward(x), 0f, "vera unmerged");
    }

    [Fact]
    public void MergeAndUnloadKeepsTheOutput()
    {
        var model = FixtureModel();
        var x = F("vera.v.x");
        var y = model.V.Forward(x);
        model.Lora.MergeAndUnload();
        Assert.Null(model.V.Adapter);
        Close(y, model.V.Forward(x), 1e-5f, "vera merge-and-unload");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SaveThenLoadIsExactInPeftsLayout(bool saveProjection)
    {
        var model = FixtureModel();
        var dir = Path.Combine(_dir, saveProjection ? "with" : "without");
        var stale = model.Lora.Attach("other", config: Vera with { SaveProjection = saveProjection, ProjectionPrngKey = 0 });
        model.Lora.SetActive("other");
        foreach (var layer in new[] { model.Q, model.V })
        {
            AdapterOf(layer, "other").LambdaB.CopyFrom(AdapterOf(layer).LambdaB);
            AdapterOf(layer, "other").LambdaD.CopyFrom(AdapterOf(layer).LambdaD);
        }
        model.Lora.Save(dir, "other");
        var sub = Path.Combine(dir, "other");
        using (var file = SafetensorsFile.Open(Path.Combine(sub, AdapterKeys.WeightsFile)))
        {
            var keys = file.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal).ToList();
            var expected = new List<string>
            {
                "base_model.model.q.vera_lambda_b", "base_model.model.q.vera_lambda_d",
                "base_model.model.v.vera_lambda_b", "base_model.model.v.vera_lambda_d",
            };
            if (saveProjection) expected.AddRange(["base_model.vera_A", "base_model.vera_B"]);
            Assert.Equal(expected, keys);
            if (saveProjection)
            {
                Assert.Equal(new long[] { 4, 12 }, file.Info("base_model.vera_A").Shape);
                Assert.Equal(new long[] { 10, 4 }, file.Info("base_model.vera_B").Shape);
            }
        }
        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(sub, AdapterKeys.ConfigFile))))
        {
            var c = doc.RootElement;
            Assert.Equal("VERA", c.GetProperty("peft_type").GetString());
            Assert.Equal(4, c.GetProperty("r").GetInt32());
            Assert.Equal(0, c.GetProperty("projection_prng_key").GetInt64());
            Assert.Equal(saveProjection, c.GetProperty("save_projection").GetBoolean());
            Assert.Equal(0.1, c.GetProperty("d_initial").GetDouble());
            Assert.Equal(["q", "v"], c.GetProperty("target_modules").EnumerateArray().Select(e => e.GetString()));
            Assert.False(c.TryGetProperty("lora_alpha", out _));
        }

        // A fresh model whose attributes say plain LoRA loads it as VeRA, with the same outputs.
        var fresh = new BasisFixtures.TwoLayers();
        fresh.Q.Weight.CopyFrom(model.Q.Weight);
        fresh.V.Weight.CopyFrom(model.V.Weight);
        fresh.Lora.Load(dir, "other");
        Assert.Equal(LoraVariant.Vera, fresh.Lora.VariantOf("other"));
        Assert.Empty(fresh.Lora.Parameters());   // loaded for inference
        foreach (var (name, a, b) in new[] { ("q", model.Q, fresh.Q), ("v", model.V, fresh.V) })
            Assert.Equal(a.Forward(F($"vera.{name}.x")).ToArray(), b.Forward(F($"vera.{name}.x")).ToArray());
        Assert.Equal(AdapterOf(model.Q, "other").Projection.A.ToArray(), AdapterOf(fresh.Q, "other").Projection.A.ToArray());
        Assert.NotNull(stale);
    }

    [Fact]
    public void LoadsTrainableAndRefusesWhatDoesNotFit()
    {
        var model = FixtureModel();
        model.Lora.Save(_dir);
        var fresh = new BasisFixtures.TwoLayers();
        fresh.Lora.Load(_dir, isTrainable: true);
        Assert.Equal(2 * 4 + 10 + 6, fresh.Lora.Parameters().Sum(p => p.Size));

        // A model whose q is smaller: λ_b has the wrong shape, named in the error.
        var other = new OtherShapes();
        var e = Assert.Throws<LoraAdapterException>(() => other.Lora.Load(_dir));
        Assert.Contains("base_model.model.q.vera_lambda_b", e.Message);
        Assert.Null(other.Q.Adapter);
    }

    private sealed class OtherShapes : Module
    {
        public OtherShapes()
        {
            Lora = new LoraModelController(this, LoraModelOptions.FromFieldsOnly with { Defaults = new LoraConfig(4, 8), Targets = ["q", "v"] });
        }

        public Linear Q { get; } = new(12, 8, bias: false, rng: new Rng(1));

        public Linear V { get; } = new(5, 6, bias: false, rng: new Rng(2));

        public LoraModelController Lora { get; }

        public override IEnumerable<(string Name, Module Module)> Children()
        {
            yield return ("q", Q);
            yield return ("v", V);
        }
    }

    [Fact]
    public void DifferingRanksAndEmbeddingsAreRefusedBeforeAnythingChanges()
    {
        var model = new BasisFixtures.TwoLayers();
        var e = Assert.Throws<InvalidOperationException>(() => model.Lora.Attach(config: Vera with { RankPattern = new Dictionary<string, int> { ["v"] = 2 } }));
        Assert.Contains("one rank", e.Message);
        Assert.Null(model.Q.Adapter);
        Assert.True(model.Q.Weight.RequiresGrad || !model.Q.Weight.RequiresGrad);   // untouched either way: no adapter was attached
        Assert.Empty(model.Lora.Names);

        var emb = Assert.Throws<InvalidOperationException>(() => model.Lora.Attach(config: Vera with { TargetModules = ["wte", "q"] }));
        Assert.Contains("Linear layers only", emb.Message);
        Assert.Null(model.Wte.Adapter);
    }

    [Fact]
    public void SwitchingDisablingAndDeletingWorkAsForLora()
    {
        var model = new BasisFixtures.TwoLayers();
        model.Lora.Attach(config: Vera with { TargetModules = ["q"] });
        AdapterOf(model.Q).LambdaB.CopyFrom(F("vera.q.lambda_b"));
        var x = F("vera.q.x");
        var adapted = model.Q.Forward(x).ToArray();
        model.Lora.Attach("lora-too", config: new() { TargetModules = ["v"] });   // plain LoRA on the other layer
        var e = Assert.Throws<InvalidOperationException>(() => model.Lora.Attach("clash", config: new() { TargetModules = ["q"] }));
        Assert.Contains("BasisSlot", e.Message);   // LoRA and VeRA do not share a layer
        using (model.Lora.Disable()) Assert.NotEqual(adapted, model.Q.Forward(x).ToArray());
        Assert.Equal(adapted, model.Q.Forward(x).ToArray());
        model.Lora.SetActive("lora-too");
        var baseOnly = model.Q.Forward(x).ToArray();
        Assert.NotEqual(adapted, baseOnly);
        Assert.Equal(4 * 5 + 6 * 4, model.Lora.Parameters().Sum(p => p.Size));
        model.Lora.SetActive("default");
        Assert.Equal(adapted, model.Q.Forward(x).ToArray());
        Assert.Equal(4 + 10, model.Lora.Parameters().Sum(p => p.Size));
        model.Lora.Delete("default");
        Assert.Null(model.Q.Adapter);
        Assert.Equal(baseOnly, model.Q.Forward(x).ToArray());
    }
}
