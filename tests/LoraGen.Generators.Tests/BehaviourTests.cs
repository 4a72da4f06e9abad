using LoraGen.Autograd;
using LoraGen.Generators.Tests.Models;
using LoraGen.Lora;
using LoraGen.Ops;
using LoraGen.Optim;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Generators.Tests;

/// <summary>
/// The generated code compiled into this assembly, run for real: attach, train, merge, save/load, switch, disable.
/// </summary>
public class BehaviourTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("loragen-gen-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const int B = 2, T = 5;
    private static readonly int[] Ids = [1, 5, 16, 3, 3, 0, 7, 9, 2, 11];
    private static readonly int[] Targets = [5, 16, 3, 3, 0, 7, 9, 2, 11, 4];

    private static TinyTransformer NewModel(ulong seed = 1) => new(2, new Rng(seed));

    private static float[] Logits(TinyTransformer m)
    {
        using var _ = GradMode.NoGrad();
        return m.Forward(Ids, B, T).ToArray();
    }

    private static void Train(TinyTransformer m, int steps, float lr = 5e-2f)
    {
        var opt = new AdamW(m.Lora.Parameters(), lr: lr, weightDecay: 0f);
        for (int i = 0; i < steps; i++)
        {
            opt.ZeroGrad();
            m.Forward(Ids, B, T).CrossEntropy(Targets).Backward();
            opt.Step();
        }
    }

    private static Dictionary<string, float[]> Snapshot(TinyTransformer m) =>
        m.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.ToArray());

    private static void AssertClose(float[] expected, float[] actual, float tol)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * (1 + Math.Abs(expected[i])), $"[{i}] {actual[i]} vs {expected[i]}");
    }

    [Fact]
    public void TheGeneratedTreeHasPyTorchPaths()
    {
        var names = NewModel().NamedParameters().Select(p => p.Name).ToList();
        Assert.Contains("layers.1.inner.attn.o_proj.weight", names);   // [ModuleName] rename, List index, generic wrapper
        Assert.Contains("layers.0.inner.mlp_norm.weight", names);       // field from the second partial file
        Assert.Contains("norm_f.weight", names);
        Assert.Equal(["tok", "layers.{0}.inner.attn.q_proj", "layers.{0}.inner.attn.v_proj", "layers.{0}.inner.up"],
            typeof(TinyTransformer.LoraKeys).GetFields().Where(f => f.Name.EndsWith("_A")).Select(f => ((string)f.GetRawConstantValue()!)
                .Replace("base_model.model.", "").Replace(".lora_A.weight", "").Replace(".lora_embedding_A", "")));
    }

    [Fact]
    public void AttachLeavesOutputsUnchangedAndOnlyAdaptersTrain()
    {
        var m = NewModel();
        var before = Logits(m);
        m.Lora.Attach();
        Assert.Equal(before, Logits(m));
        var trainable = m.NamedParameters().Where(p => p.Parameter.RequiresGrad).Select(p => p.Name).ToList();
        Assert.Equal(14, trainable.Count);   // (tok + 2 layers × (q, v, up)) × (A, B)
        Assert.All(trainable, n => Assert.Contains(".lora_", n));
        var targets = m.Lora.Targets();
        Assert.Equal(2.0f, targets.Single(t => t.Path == "layers.0.inner.attn.q_proj").Config.Scaling);
        Assert.Equal(8f, targets.Single(t => t.Path == "layers.1.inner.attn.v_proj").Config.Scaling, 5);   // rsLoRA: 16/√4
    }

    [Fact]
    public void SummaryIsPeftsLine()
    {
        var m = NewModel();
        long all0 = m.ParameterCount();
        m.Lora.Attach();
        long lora = 2 * (17 + 12) + 2 * (2 * 4 * (12 + 12) + 2 * (12 + 24));
        long all = all0 + lora;
        Assert.Equal($"trainable params: {lora:N0} || all params: {all:N0} || trainable%: {100.0 * lora / all:F4}".Replace('\u00a0', ','), m.Lora.Summary());
        Assert.Matches(@"^trainable params: [\d,]+ \|\| all params: [\d,]+ \|\| trainable%: \d+\.\d{4}$", m.Lora.Summary());
    }

    [Fact]
    public void ATrainingStepChangesOnlyAAndB()
    {
        var m = NewModel();
        m.Lora.Attach();
        var before = Snapshot(m);
        Train(m, 1);
        var after = Snapshot(m);
        foreach (var (name, values) in before)
        {
            if (name.Contains(".lora_")) continue;
            Assert.True(values.SequenceEqual(after[name]), $"{name} changed");
        }
        Assert.Contains(before.Keys, n => n.Contains("lora_B") && !before[n].SequenceEqual(after[n]));
    }

    [Fact]
    public void MergeMatchesUnmergedAndUnmergeRestoresW()
    {
        var m = NewModel();
        m.Lora.Attach();
        Train(m, 3);
        m.Eval();
        var unmerged = Logits(m);
        var w = m.NamedParameters().Single(p => p.Name == "layers.0.inner.attn.q_proj.weight").Parameter;
        var w0 = w.ToArray();
        m.Lora.Merge();
        Assert.True(m.Lora.IsMerged);
        Assert.NotEqual(w0, w.ToArray());
        AssertClose(unmerged, Logits(m), 1e-5f);
        m.Lora.Merge();   // no-op
        AssertClose(unmerged, Logits(m), 1e-5f);
        m.Lora.Unmerge();
        AssertClose(w0, w.ToArray(), 1e-6f);
        AssertClose(unmerged, Logits(m), 1e-5f);
    }

    [Fact]
    public void SaveLoadRoundTripReproducesOutputsExactly()
    {
        var m = NewModel();
        m.Lora.Attach();
        Train(m, 3);
        m.Eval();
        var trained = Logits(m);
        m.Lora.Save(_dir);

        var fresh = NewModel();   // same base weights (same seed), no adapter yet
        fresh.Eval();
        fresh.Lora.Load(_dir);
        Assert.Equal(trained, Logits(fresh));
        Assert.Equal("default", fresh.Lora.Active);

        using var f = SafetensorsFile.Open(Path.Combine(_dir, AdapterKeys.WeightsFile));
        var expectedKeys = new[] { TinyTransformer.LoraKeys.tok_A, TinyTransformer.LoraKeys.tok_B }
            .Concat(Enumerable.Range(0, 2).SelectMany(i => new[]
            {
                TinyTransformer.LoraKeys.layers_0_inner_attn_q_proj_A, TinyTransformer.LoraKeys.layers_0_inner_attn_q_proj_B,
                TinyTransformer.LoraKeys.layers_0_inner_attn_v_proj_A, TinyTransformer.LoraKeys.layers_0_inner_attn_v_proj_B,
                TinyTransformer.LoraKeys.layers_0_inner_up_A, TinyTransformer.LoraKeys.layers_0_inner_up_B,
            }.Select(k => string.Format(System.Globalization.CultureInfo.InvariantCulture, k, i))));
        Assert.Equal(expectedKeys.Order(StringComparer.Ordinal), f.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.Equal([4, 12], f.Info(string.Format(TinyTransformer.LoraKeys.layers_0_inner_attn_q_proj_A, 1)).Shape.Select(d => (int)d));
        Assert.Equal([2, 17], f.Info(TinyTransformer.LoraKeys.tok_A).Shape.Select(d => (int)d));   // [r, num_embeddings]
    }

    [Fact]
    public void TwoNamedAdaptersSwitchAndDisableGivesTheBase()
    {
        var m = NewModel();
        var baseOut = Logits(m);
        m.Lora.Attach("a", seed: 1);
        Train(m, 2);
        m.Eval();
        var outA = Logits(m);
        m.Train();
        m.Lora.Attach("b", seed: 2);
        m.Lora.SetActive("b");
        Train(m, 2, lr: 1e-1f);
        m.Eval();
        var outB = Logits(m);
        Assert.NotEqual(outA, outB);
        Assert.Equal(["a", "b"], m.Lora.Names);
        m.Lora.SetActive("a");
        Assert.Equal(outA, Logits(m));
        using (m.Lora.Disable()) Assert.Equal(baseOut, Logits(m));
        Assert.Equal(outA, Logits(m));
        m.Lora.Delete("b");
        Assert.Equal(["a"], m.Lora.Names);
    }

    [Fact]
    public void MergeAndUnloadLeavesAPlainModelWithTheSameOutputs()
    {
        var m = NewModel();
        m.Lora.Attach();
        Train(m, 2);
        m.Eval();
        var adapted = Logits(m);
        m.Lora.MergeAndUnload();
        Assert.DoesNotContain(m.NamedParameters(), p => p.Name.Contains(".lora_"));
        AssertClose(adapted, Logits(m), 1e-5f);
        var path = Path.Combine(_dir, "merged.safetensors");
        m.SaveWeights(path);
        var reloaded = NewModel(seed: 99);
        reloaded.LoadWeights(path);
        reloaded.Eval();
        Assert.Equal(Logits(m), Logits(reloaded));
    }

    [Fact]
    public void NamedTargetsUseRankPatternsAndSaveThemInTheConfig()
    {
        var mlp = new Mlp(6, 10, 3, new Rng(4));
        mlp.Lora.Attach();
        var t = mlp.Lora.Targets();
        Assert.Equal([("fc1", 4), ("fc2", 2)], t.Select(x => (x.Path, x.Config.Rank)));
        mlp.Lora.Save(_dir);
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, AdapterKeys.ConfigFile)));
        var root = doc.RootElement;
        Assert.Equal("LORA", root.GetProperty("peft_type").GetString());
        Assert.Equal(4, root.GetProperty("r").GetInt32());
        Assert.Equal(8.0, root.GetProperty("lora_alpha").GetDouble());
        Assert.Equal(2, root.GetProperty("rank_pattern").GetProperty("fc2").GetInt32());
        Assert.Equal(["fc1", "fc2"], root.GetProperty("target_modules").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("tests/mlp", root.GetProperty("base_model_name_or_path").GetString());
        Assert.Equal("none", root.GetProperty("bias").GetString());
    }

    [Fact]
    public void AForeignAdapterLoadsWithItsOwnRankAndAlpha()
    {
        // An adapter as PEFT would save it for this MLP, with r = 3 and alpha = 12 (the attribute says 4 and 8).
        var rng = new Rng(8);
        var tensors = new Dictionary<string, Tensor>
        {
            ["base_model.model.fc1.lora_A.weight"] = Tensor.Randn(rng, 0.3f, 3, 6),
            ["base_model.model.fc1.lora_B.weight"] = Tensor.Randn(rng, 0.3f, 10, 3),
        };
        TensorFiles.Save(Path.Combine(_dir, AdapterKeys.WeightsFile), tensors);
        File.WriteAllText(Path.Combine(_dir, AdapterKeys.ConfigFile),
            """{"peft_type": "LORA", "r": 3, "lora_alpha": 12, "target_modules": ["fc1"], "use_rslora": false}""");
        var mlp = new Mlp(6, 10, 3, new Rng(4));
        var x = Tensor.Randn(new Rng(2), 1, 4, 6);
        var baseOut = mlp.Forward(x).ToArray();
        mlp.Lora.Load(_dir, "foreign");
        var slot = mlp.Lora.Targets().Single(t => t.Path == "fc1").Layer.Lora!;
        Assert.Equal(3, slot.Adapters["foreign"].Config.Rank);
        Assert.Equal(4f, slot.Adapters["foreign"].Scaling);
        Assert.NotEqual(baseOut, mlp.Forward(x).ToArray());
    }

    [Fact]
    public void BadAdaptersAreRejectedByNameAndChangeNothing()
    {
        var mlp = new Mlp(6, 10, 3, new Rng(4));
        File.WriteAllText(Path.Combine(_dir, AdapterKeys.ConfigFile), """{"peft_type": "IA3", "r": 4}""");
        var ex = Assert.Throws<LoraAdapterException>(() => mlp.Lora.Load(_dir));
        Assert.Contains("peft_type", ex.Message);
        Assert.Contains("IA3", ex.Message);

        File.WriteAllText(Path.Combine(_dir, AdapterKeys.ConfigFile), """{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["fc1", "fc2"]}""");
        TensorFiles.Save(Path.Combine(_dir, AdapterKeys.WeightsFile), new Dictionary<string, Tensor>
        {
            ["base_model.model.fc1.lora_A.weight"] = Tensor.Zeros(4, 6),
            ["base_model.model.fc1.lora_B.weight"] = Tensor.Zeros(10, 5),
            ["base_model.model.fc9.lora_A.weight"] = Tensor.Zeros(4, 6),
        });
        ex = Assert.Throws<LoraAdapterException>(() => mlp.Lora.Load(_dir));
        Assert.Contains("base_model.model.fc2.lora_A.weight", ex.Missing);
        Assert.Contains("base_model.model.fc9.lora_A.weight", ex.Unexpected);
        Assert.Contains(ex.Mismatched, s => s.StartsWith("base_model.model.fc1.lora_B.weight: file [10, 5], expected [10, 4]"));
        Assert.Empty(mlp.Lora.Names);
        Assert.All(mlp.Lora.Targets(), t => Assert.Null(t.Layer.Lora));
    }

    [Fact]
    public void DoraFromTheAttributesTrainsSavesAndLoadsAndAnOverrideMakesItPlain()
    {
        var mlp = new DoraMlp(6, 10, 3, new Rng(4));
        mlp.Lora.Attach(seed: 3);
        var slots = mlp.Lora.Targets().ToDictionary(t => t.Path, t => t.Layer.Lora!);
        Assert.Equal(["fc1", "fc2"], slots.Keys.Order());
        Assert.All(slots.Values, s => Assert.NotNull(s.Adapters["default"].Magnitude));
        Assert.Equal(2 * 3, mlp.Lora.Parameters().Count());   // A, B and m per layer

        var x = Tensor.Randn(new Rng(5), 1, 4, 6);
        var opt = new AdamW(mlp.Lora.Parameters(), lr: 1e-2f, weightDecay: 0f);
        for (int i = 0; i < 3; i++)
        {
            opt.ZeroGrad();
            (mlp.Forward(x) * mlp.Forward(x)).Mean().Backward();
            opt.Step();
        }
        var trained = mlp.Forward(x).ToArray();
        mlp.Lora.Save(_dir);
        Assert.True(AdapterConfig.Parse(File.ReadAllText(Path.Combine(_dir, AdapterKeys.ConfigFile))).UseDora);

        var again = new DoraMlp(6, 10, 3, new Rng(4));
        again.Lora.Load(_dir);
        Assert.Equal(trained, again.Forward(x).ToArray());

        var plain = new DoraMlp(6, 10, 3, new Rng(4));
        plain.Lora.Attach(config: new LoraOverride { UseDora = false });
        Assert.All(plain.Lora.Targets(), t => Assert.Null(t.Layer.Lora!.Adapters["default"].Magnitude));
    }

    [Fact]
    public void BaseQuantizationFromTheAttributeStoresTheFrozenBaseInNf4OnAttach()
    {
        Assert.Equal(LoraBaseQuantization.Nf4, QuantizedMlp.LoraOptions.BaseQuantization);
        var mlp = new QuantizedMlp(8, 16, new Rng(5));
        Assert.Equal(LoraGen.Nn.BaseFormat.Fp32, mlp.Fc1.BaseFormat);
        mlp.Lora.Attach();
        Assert.Equal(LoraGen.Nn.BaseFormat.NF4, mlp.Fc1.BaseFormat);
        Assert.Equal(LoraGen.Nn.BaseFormat.NF4, mlp.Fc2.BaseFormat);
        Assert.Equal(mlp.Fc1.LowPrecisionBase!.StorageBytes, mlp.Fc1.BaseWeightBytes);
        var x = Tensor.Randn(new Rng(6), 1f, 4, 8);
        var opt = new AdamW(mlp.Lora.Parameters(), lr: 1e-2f);
        mlp.Forward(x).Mul(mlp.Forward(x)).Mean().Backward();
        opt.Step();
        Assert.Equal(2, mlp.Lora.Quantize(LoraGen.Nn.BaseFormat.Fp32));   // run time may choose another format
        Assert.Equal(LoraGen.Nn.BaseFormat.Fp32, mlp.Fc2.BaseFormat);
    }

    [Fact]
    public void TheFacadeTakesWhatTheModelDeclaresThroughTheGeneratedHookAndSavesIt()
    {
        Assert.Null(DeclaringMlp.LoraOptions.TaskType);   // the attribute's options are untouched
        var mlp = new DeclaringMlp(4, 3, new Rng(1));
        Assert.Equal("SEQ_CLS", mlp.Lora.Options.TaskType);
        mlp.Lora.Attach();
        mlp.Lora.Save(_dir);
        using var files = AdapterDirectory.Open(_dir);
        Assert.Equal("SEQ_CLS", files.Config.TaskType);
        Assert.Null(new Mlp(6, 10, 3, new Rng(4)).Lora.Options.TaskType);   // without the hook: the attribute's options as they are
    }

    [Fact]
    public void VeraAndNolaFromTheAttributesTrainSaveAndLoad()
    {
        var x = Tensor.Randn(new Rng(5), 1, 4, 6);
        foreach (var (make, variant, trainable) in new (Func<LoraGen.Nn.Module>, LoraVariant, int)[]
        {
            (() => new VeraMlp(6, 10, 3, new Rng(4)), LoraVariant.Vera, (4 + 10) * 2),   // λ_d [r] + λ_b [out] per layer
            (() => new NolaMlp(6, 10, 3, new Rng(4)), LoraVariant.Nola, (16 + 16) * 2),  // k_A + k_B per layer
        })
        {
            var mlp = make();
            var lora = mlp is VeraMlp v ? v.Lora : ((NolaMlp)mlp).Lora;
            Func<Tensor, Tensor> forward = mlp is VeraMlp vf ? vf.Forward : ((NolaMlp)mlp).Forward;
            lora.Attach(seed: 3);
            Assert.Equal(variant, lora.VariantOf("default"));
            Assert.Equal(trainable, lora.Parameters().Sum(p => p.Size));
            var opt = new AdamW(lora.Parameters(), lr: 1e-2f, weightDecay: 0f);
            for (int i = 0; i < 3; i++)
            {
                opt.ZeroGrad();
                (forward(x) * forward(x)).Mean().Backward();
                opt.Step();
            }
            var trained = forward(x).ToArray();
            var dir = Path.Combine(_dir, variant.ToString());
            lora.Save(dir);
            var again = make();
            var againLora = again is VeraMlp va ? va.Lora : ((NolaMlp)again).Lora;
            againLora.Load(dir);
            Assert.Equal(trained, (again is VeraMlp vb ? vb.Forward(x) : ((NolaMlp)again).Forward(x)).ToArray());
        }
    }
}
