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

/// <summary>PiSSA and OLoRA: factors and residual against PyTorch, the model unchanged at start, the save conversion.</summary>
public sealed class ResidualInitTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("loragen-pissa-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly Lazy<SafetensorsFile> File = new(() =>
        SafetensorsFile.Open(Path.Combine(AppContext.BaseDirectory, "Fixtures", "variants_init.safetensors")));

    private static Tensor F(string key) => File.Value.LoadTensor("init." + key);

    private void Close(Tensor expected, Tensor actual, float tol, string what)
    {
        double worst = VariantFixtures.MaxAbsError(expected, actual);
        output.WriteLine($"{what}: max |err| {worst:G3}");
        Assert.True(worst <= tol, $"{what}: max |err| {worst} > {tol}");
    }

    [Theory]
    [InlineData(LoraInit.Pissa, "pissa")]
    [InlineData(LoraInit.Olora, "olora")]
    public void FactorsAndResidualMatchPyTorchAndTheOutputIsUnchanged(LoraInit init, string name)
    {
        var layer = new Linear(8, 6);
        layer.Weight.CopyFrom(F("W"));
        layer.Freeze();
        var x = Tensor.Randn(new Rng(1), 1, 4, 8);
        var before = layer.Forward(x);
        var ad = layer.EnableLora("proj").Add("default", new LoraConfig(3, 6, Init: init), new Rng(2));
        Close(F($"{name}.BA"), ad.B.Linear(ad.A.Transpose(0, 1)), 1e-5f, $"{name} B·A");
        Close(F($"{name}.Wres"), layer.Weight, 1e-5f, $"{name} W_res");
        var expectedA = F($"{name}.A");
        for (int c = 0; c < 3; c++)   // each row of A equals PyTorch's up to sign
        {
            int big = Enumerable.Range(c * 8, 8).MaxBy(i => Math.Abs(expectedA.Data[i]));
            float sign = MathF.Sign(ad.A.Data[big]) * MathF.Sign(expectedA.Data[big]);
            for (int i = 0; i < 8; i++) Assert.Equal(expectedA.Data[c * 8 + i], sign * ad.A.Data[c * 8 + i], 1e-5f);
        }
        Close(before, layer.Forward(x), 1e-5f, $"{name} output unchanged");
    }

    [Fact]
    public void RandomizedPissaRecoversALowRankWeight()
    {
        // W = P·Q (rank 3) + 1e-3 noise: three power iterations find its column space.
        var p = Tensor.Randn(new Rng(3), 1, 12, 3);
        var q = Tensor.Randn(new Rng(4), 1, 3, 10);
        var w = p.Linear(q.Transpose(0, 1)) + Tensor.Randn(new Rng(5), 1e-3f, 12, 10);
        var layer = new Linear(10, 12);
        layer.Weight.CopyFrom(w);
        layer.Freeze();
        var ad = layer.EnableLora("proj").Add("default", new LoraConfig(3, 3, Init: LoraInit.Pissa, PissaNiter: 3), new Rng(6));
        double residual = 0, total = 0;
        for (int i = 0; i < w.Size; i++) { residual += layer.Weight.Data[i] * layer.Weight.Data[i]; total += w.Data[i] * w.Data[i]; }
        output.WriteLine($"pissa_niter_3: residual energy {residual / total:G3}");
        Assert.True(residual / total < 1e-5, $"residual energy {residual / total}");
        var x = Tensor.Randn(new Rng(7), 1, 2, 10);
        Close(x.Linear(w), layer.Forward(x) - x.Linear(Tensor.Zeros(12, 10), layer.Bias), 1e-4f, "pissa_niter output");
    }

    [Fact]
    public void SaveConvertsToPlainLoraThatWorksOnTheUntouchedBase()
    {
        var model = new TwoProjModel();
        model.Lora.Attach(seed: 1, config: new LoraOverride { R = 2, LoraAlpha = 4, Init = LoraInit.Pissa });
        var rng = new Rng(2);
        foreach (var t in model.Lora.Parameters()) for (int i = 0; i < t.Size; i++) t.Data[i] += 0.1f * rng.NextNormal();   // "training"
        var x = Tensor.Randn(new Rng(3), 1, 3, TwoProjModel.In);
        var trained = model.Forward(x);
        model.Lora.Save(_dir);
        var config = AdapterConfig.Parse(System.IO.File.ReadAllText(Path.Combine(_dir, AdapterKeys.ConfigFile)));
        Assert.Equal(4, config.R);
        Assert.Equal(8, config.LoraAlpha);
        Assert.Equal(true, config.InitLoraWeights.Flag);

        var untouched = new TwoProjModel();
        untouched.Lora.Load(_dir);
        Close(trained, untouched.Forward(x), 1e-5f, "converted PiSSA on the untouched base");
    }

    [Fact]
    public void PissaFilesAndBadCombinationsAreRefused()
    {
        var model = new TwoProjModel();
        model.Lora.Attach(seed: 1);
        model.Lora.Save(_dir);
        var path = Path.Combine(_dir, AdapterKeys.ConfigFile);
        System.IO.File.WriteAllText(path, System.IO.File.ReadAllText(path).Replace("\"init_lora_weights\": true", "\"init_lora_weights\": \"pissa_niter_4\""));
        var ex = Assert.Throws<LoraAdapterException>(() => new TwoProjModel().Lora.Load(_dir));
        Assert.Contains("pissa_niter_4", ex.Message);

        var parsed = LoraOverride.From(AdapterConfig.Parse("""{"peft_type": "LORA", "r": 2, "init_lora_weights": "pissa_niter_4", "target_modules": ["q_proj"]}"""));
        Assert.Equal(LoraInit.Pissa, parsed.Init);
        Assert.Equal(4, parsed.PissaNiter);
        Assert.Contains("DoRA", Assert.Throws<InvalidOperationException>(() => new TwoProjModel().Lora.Attach(config: new LoraOverride { Init = LoraInit.Olora, UseDora = true })).Message);
        var emb = new Embedding(10, 4);
        Assert.Throws<ArgumentException>(() => emb.EnableLora("wte").Add("p", new LoraConfig(2, 2, Init: LoraInit.Pissa), new Rng(1)));
    }
}
