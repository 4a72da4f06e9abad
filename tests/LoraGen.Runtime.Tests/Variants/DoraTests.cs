using LoraGen.Autograd;
using LoraGen.Lora;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Peft;
using LoraGen.Runtime.Tests.Hardening;
using LoraGen.SafeTensors;
using LoraGen.Tensors;
using Xunit;
using Xunit.Abstractions;

namespace LoraGen.Runtime.Tests.Variants;

/// <summary>DoRA on Linear and Embedding: forward and backward against PyTorch, finite differences, merge, files.</summary>
public sealed class DoraTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("loragen-dora-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Tensor F(string key) => VariantFixtures.Load(key);

    private void Close(Tensor expected, Tensor actual, float rtol, string what)
    {
        output.WriteLine($"{what}: max |err| {VariantFixtures.MaxAbsError(expected, actual):G3}");
        TestUtil.AssertClose(expected, actual, rtol, what);
    }

    /// <summary>The fixture's Linear (W [6, 8], b [6]) with its DoRA adapter (r 4, α 8, given A, B and m).</summary>
    private static (Linear Layer, LoraAdapter Adapter) FixtureLinear(bool withMagnitude = true)
    {
        var layer = new Linear(8, 6);
        layer.Weight.CopyFrom(F("dora.linear.W"));
        layer.Bias!.CopyFrom(F("dora.linear.b"));
        layer.Freeze();
        var ad = layer.EnableLora("proj").Add("default", new LoraConfig(4, 8, UseDora: true),
            F("dora.linear.A"), F("dora.linear.B"), withMagnitude ? F("dora.linear.m") : null);
        return (layer, ad);
    }

    private static (Embedding Layer, LoraAdapter Adapter) FixtureEmbedding(bool withMagnitude = true)
    {
        var layer = new Embedding(10, 6);
        layer.Weight.CopyFrom(F("dora.embedding.W"));
        layer.Freeze();
        var ad = layer.EnableLora("wte").Add("default", new LoraConfig(4, 4, UseDora: true),
            F("dora.embedding.A"), F("dora.embedding.B"), withMagnitude ? F("dora.embedding.m") : null);
        return (layer, ad);
    }

    [Fact]
    public void LinearForwardAndBackwardMatchPyTorch()
    {
        var (layer, ad) = FixtureLinear();
        var x = F("dora.linear.x");
        x.RequiresGrad = true;
        var y = layer.Forward(x);
        Close(F("dora.linear.y"), y, 1e-5f, "dora linear y");
        (y * F("dora.linear.g")).Sum().Backward();
        Close(F("dora.linear.grad.A"), ad.A.Grad!, 1e-4f, "dora linear dA");
        Close(F("dora.linear.grad.B"), ad.B.Grad!, 1e-4f, "dora linear dB");
        Close(F("dora.linear.grad.m"), ad.Magnitude!.Grad!, 1e-4f, "dora linear dm");
        Close(F("dora.linear.grad.x"), x.Grad!, 1e-4f, "dora linear dx");
        Assert.Null(layer.Weight.Grad);
        Assert.Equal(["lora_A.default.weight", "lora_B.default.weight", "lora_magnitude_vector.default.weight"],
            layer.AdapterParameters().Select(p => p.Name));
    }

    [Fact]
    public void MagnitudeStartsAtTheNormOfTheAdaptedWeight()
    {
        var (_, ad) = FixtureLinear(withMagnitude: false);
        Close(F("dora.linear.m0"), ad.Magnitude!, 1e-6f, "dora linear m0");
        var (_, ead) = FixtureEmbedding(withMagnitude: false);
        Close(F("dora.embedding.m0"), ead.Magnitude!, 1e-6f, "dora embedding m0");
    }

    [Fact]
    public void FreshDoraAdapterLeavesTheOutputUnchanged()
    {
        var layer = new Linear(8, 6, rng: new Rng(3));
        layer.Freeze();
        var x = Tensor.Randn(new Rng(4), 1, 2, 8);
        var before = layer.Forward(x);
        layer.EnableLora("proj").Add("default", new LoraConfig(4, 8, UseDora: true), new Rng(5));
        Close(before, layer.Forward(x), 1e-6f, "fresh dora");
    }

    [Fact]
    public void WithAnotherAdapterActiveDoraStillScalesThePureBaseOutput()
    {
        // Without dropout the slot takes x·Wᵀ from the layer's own output (less the bias) instead of multiplying by W
        // again; an adapter active before the DoRA one must not leak into that: both together are the sum of each alone.
        var (layer, _) = FixtureLinear();
        var slot = layer.EnableLora("proj");
        var rng = new Rng(11);
        slot.Add("plain", new LoraConfig(4, 8), Tensor.Randn(rng, 0.3f, 4, 8), Tensor.Randn(rng, 0.3f, 6, 4));
        var x = F("dora.linear.x");
        slot.Disabled = true;
        var yBase = layer.Forward(x);
        slot.Disabled = false;
        slot.SetActive("default");
        var yDora = layer.Forward(x);
        Close(F("dora.linear.y"), yDora, 1e-5f, "dora alone");
        slot.SetActive("plain");
        var yPlain = layer.Forward(x);
        var expected = yPlain + yDora - yBase;
        foreach (var order in new[] { new[] { "plain", "default" }, ["default", "plain"] })
        {
            slot.SetActive(order);
            Close(expected, layer.Forward(x), 1e-5f, $"active {string.Join(", ", order)}");
        }
        // With dropout in training the layer's output is not x̃·Wᵀ: the slot multiplies again, and in eval it reuses.
        var drop = new Linear(8, 6, rng: new Rng(12));
        drop.Freeze();
        var dslot = drop.EnableLora("proj");
        dslot.Add("default", new LoraConfig(4, 8, Dropout: 0.5, UseDora: true), Tensor.Randn(rng, 0.3f, 4, 8), Tensor.Randn(rng, 0.3f, 6, 4));
        drop.Eval();
        var yEval = drop.Forward(x);
        dslot.Merge();
        Close(drop.Forward(x), yEval, 1e-5f, "dora with dropout, eval == merged");
    }

    [Fact]
    public void EmbeddingForwardAndBackwardMatchPyTorch()
    {
        var (layer, ad) = FixtureEmbedding();
        var y = layer.Forward(VariantFixtures.LoadInts("dora.embedding.ids"), 2, 3);
        Close(F("dora.embedding.y"), y, 1e-5f, "dora embedding y");
        (y * F("dora.embedding.g")).Sum().Backward();
        Close(F("dora.embedding.grad.A"), ad.A.Grad!, 1e-4f, "dora embedding dA");
        Close(F("dora.embedding.grad.B"), ad.B.Grad!, 1e-4f, "dora embedding dB");
        Close(F("dora.embedding.grad.m"), ad.Magnitude!.Grad!, 1e-4f, "dora embedding dm");
    }

    [Fact]
    public void MergeMatchesPyTorchAndTheUnmergedOutputAndUnmergeRestoresW()
    {
        var (layer, _) = FixtureLinear();
        var w0 = layer.Weight.ToArray();
        var x = F("dora.linear.x");
        var unmerged = layer.Forward(x);
        layer.EnableLora("proj").Merge();
        Close(F("dora.linear.merged"), layer.Weight, 1e-5f, "dora linear merged W");
        Close(unmerged, layer.Forward(x), 1e-5f, "dora linear merged == unmerged");
        layer.EnableLora("proj").Unmerge();
        Assert.Equal(w0, layer.Weight.ToArray());

        var (emb, _) = FixtureEmbedding();
        var ids = VariantFixtures.LoadInts("dora.embedding.ids");
        var eUnmerged = emb.Forward(ids, 2, 3);
        emb.EnableLora("wte").Merge();
        Close(F("dora.embedding.merged"), emb.Weight, 1e-5f, "dora embedding merged W");
        Close(eUnmerged, emb.Forward(ids, 2, 3), 1e-5f, "dora embedding merged == unmerged");
    }

    [Fact]
    public void GradientsOfMagnitudeAndInputMatchFiniteDifferences()
    {
        // The norm is a constant in backward but does not depend on m or x, so for these two the analytic gradient is
        // the true one and central differences must agree.
        var (layer, ad) = FixtureLinear();
        var x = F("dora.linear.x");
        var r = F("dora.linear.g");
        x.RequiresGrad = true;
        (layer.Forward(x) * r).Sum().Backward();
        double Loss()
        {
            using var _ = GradMode.NoGrad();
            var y = layer.Forward(x);
            double s = 0;
            for (int i = 0; i < y.Size; i++) s += (double)y.Data[i] * r.Data[i];
            return s;
        }
        const float eps = 1e-2f;
        foreach (var (t, name) in new[] { (ad.Magnitude!, "m"), (x, "x") })
        {
            var grad = t.Grad!.ToArray();
            for (int i = 0; i < t.Size; i += Math.Max(1, t.Size / 12))
            {
                float v = t.Data[i];
                t.Data[i] = v + eps; double lp = Loss();
                t.Data[i] = v - eps; double lm = Loss();
                t.Data[i] = v;
                double fd = (lp - lm) / (2 * eps);
                Assert.True(Math.Abs(fd - grad[i]) <= 2e-3 * (1 + Math.Abs(fd)), $"d{name}[{i}]: analytic {grad[i]}, finite difference {fd}");
            }
        }
    }

    [Fact]
    public void SaveWritesPeftsDoraFormatAndLoadRoundTripsExactly()
    {
        var model = new TwoProjModel();
        model.Lora.Attach(seed: 7, config: new LoraOverride { UseDora = true });
        var rng = new Rng(8);
        foreach (var p in model.Lora.Parameters()) rng.FillNormal(p.Data, 0.5f, 0.3f);   // B ≠ 0, m moved
        Assert.Equal(2 * 3, model.Lora.Parameters().Count());
        var x = Tensor.Randn(new Rng(9), 1, 3, TwoProjModel.In);
        var y = model.Forward(x);
        model.Lora.Save(_dir);

        using (var file = SafetensorsFile.Open(Path.Combine(_dir, AdapterKeys.WeightsFile)))
        {
            Assert.True(file.Contains("base_model.model.q_proj.lora_magnitude_vector"));
            Assert.Equal([TwoProjModel.Out], file.LoadTensor("base_model.model.v_proj.lora_magnitude_vector").Shape.ToArray());
        }
        var config = AdapterConfig.Parse(File.ReadAllText(Path.Combine(_dir, AdapterKeys.ConfigFile)));
        Assert.True(config.UseDora);

        var loaded = new TwoProjModel();
        loaded.Lora.Load(_dir);
        Assert.Equal(y.ToArray(), loaded.Forward(x).ToArray());
        Assert.True(loaded.Q.Lora!.Adapters["default"].Config.UseDora);

        // An override cannot turn a loaded DoRA adapter into plain LoRA.
        var other = new TwoProjModel();
        Assert.Throws<ArgumentException>(() => other.Lora.Load(_dir, config: new LoraOverride { UseDora = false }));
    }

    [Fact]
    public void ADoraFileWithoutMagnitudesIsRefusedByKey()
    {
        var model = new TwoProjModel();
        model.Lora.Attach(seed: 7);
        model.Lora.Save(_dir);
        var path = Path.Combine(_dir, AdapterKeys.ConfigFile);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"use_dora\": false", "\"use_dora\": true"));
        var ex = Assert.Throws<LoraAdapterException>(() => new TwoProjModel().Lora.Load(_dir));
        Assert.Contains("lora_magnitude_vector", ex.Message);
    }
}
