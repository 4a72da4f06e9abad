using LoraGen.Autograd;
using LoraGen.Generators.Tests.Models;
using LoraGen.Lora;
using LoraGen.Nn;
using LoraGen.Optim;
using LoraGen.Ops;
using LoraGen.Peft;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Generators.Tests;

/// <summary>A root whose listed target sits inside a child that is not partial: the generator cannot see into it.</summary>
[LoraModel(Rank = 4, Alpha = 8, Targets = new[] { "k" })]
internal sealed partial class HiddenTargetModel : Module
{
    private readonly Linear head = new(4, 4, rng: new Rng(1));
    private readonly OpaqueChild child = new();

    /// <summary>Runs both layers.</summary>
    public Tensor Forward(Tensor x) => child.Forward(head.Forward(x));
}

/// <summary>Deliberately not partial (LORA0021 at compile time when the analyzers are referenced).</summary>
internal sealed class OpaqueChild : Module
{
    private readonly Linear k = new(4, 4, rng: new Rng(2));

    /// <summary>Runs k.</summary>
    public Tensor Forward(Tensor x) => k.Forward(x);
}

/// <summary>
/// The <c>Lora</c> facade as a PEFT user meets it: run-time overrides, frozen loads, what counts as trainable,
/// non-default adapters in subdirectories, loaded ranks in <c>Targets()</c>, PEFT's α default.
/// </summary>
public class FacadeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("loragen-facade-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Mlp NewMlp() => new(6, 10, 3, new Rng(4));

    private static readonly Tensor X = Tensor.Randn(new Rng(2), 1, 4, 6);

    private static float[] Out(Mlp m)
    {
        using var _ = GradMode.NoGrad();
        return m.Forward(X).ToArray();
    }

    private static long Count(IEnumerable<Tensor> ps) => ps.Sum(p => (long)p.Size);

    private static long TrainableInSummary(LoraModelController lora) =>
        long.Parse(lora.Summary().Split("||")[0].Replace("trainable params:", "").Replace(",", "").Trim(), System.Globalization.CultureInfo.InvariantCulture);

    private static void TrainStep(Mlp m)
    {
        var opt = new LoraGen.Optim.AdamW(m.Lora.Parameters(), lr: 0.1f, weightDecay: 0f);
        opt.ZeroGrad();
        var y = m.Forward(X);
        (y * y).Mean().Backward();
        opt.Step();
    }

    private void WriteForeignAdapter(string json, int rank)
    {
        var rng = new Rng(8);
        TensorFiles.Save(Path.Combine(_dir, AdapterKeys.WeightsFile), new Dictionary<string, Tensor>
        {
            [AdapterKeys.A("fc1", LayerKind.Linear)] = Tensor.Randn(rng, 0.3f, rank, 6),
            [AdapterKeys.B("fc1", LayerKind.Linear)] = Tensor.Randn(rng, 0.3f, 10, rank),
        });
        File.WriteAllText(Path.Combine(_dir, AdapterKeys.ConfigFile), json);
    }

    [Fact]
    public void AConfigWithoutLoraAlphaLoadsWithPeftsDefault8EndToEnd()
    {
        WriteForeignAdapter("""{"peft_type": "LORA", "r": 4, "target_modules": ["fc1"]}""", rank: 4);
        var m = NewMlp();
        m.Lora.Load(_dir);
        var ad = m.Lora.Targets().Single(t => t.Path == "fc1").Layer.Lora!.Adapters["default"];
        Assert.Equal(8.0, ad.Config.Alpha);
        Assert.Equal(2f, ad.Scaling);   // 8 / 4, not 4 / 4

        var explicitAlpha = NewMlp();
        explicitAlpha.Lora.Load(_dir, config: new LoraOverride { LoraAlpha = 8 });
        Assert.Equal(Out(explicitAlpha), Out(m));
    }

    [Fact]
    public void AnIllTypedConfigFieldIsNamed()
    {
        WriteForeignAdapter("""{"peft_type": "LORA", "r": "8", "lora_alpha": 8, "target_modules": ["fc1"]}""", rank: 8);
        var ex = Assert.Throws<LoraAdapterException>(() => NewMlp().Lora.Load(_dir));
        Assert.Contains("'r'", ex.Message.Replace("\"r\"", "'r'").Replace("`r`", "'r'"));
    }

    [Fact]
    public void LoadIsFrozenByDefaultAndSummaryAgreesWithParameters()
    {
        var src = NewMlp();
        src.Lora.Attach();
        src.Lora.Save(_dir);

        var frozen = NewMlp();
        frozen.Lora.Load(_dir);
        Assert.False(frozen.Lora.IsTrainable("default"));
        Assert.Empty(frozen.Lora.Parameters());
        Assert.Equal(0, TrainableInSummary(frozen.Lora));
        Assert.All(frozen.Lora.Targets(), t => Assert.False(t.Layer.Lora!.Adapters["default"].A.RequiresGrad));

        var trainable = NewMlp();
        trainable.Lora.Load(_dir, isTrainable: true);
        long ab = 4 * (6 + 10) + 2 * (10 + 3);
        Assert.Equal(ab, Count(trainable.Lora.Parameters()));
        Assert.Equal(ab, TrainableInSummary(trainable.Lora));
        var before = Out(trainable);
        TrainStep(trainable);
        Assert.NotEqual(before, Out(trainable));
    }

    [Fact]
    public void SummaryCountsOnlyTheActiveAdapter()
    {
        var m = NewMlp();
        m.Lora.Attach("a");
        long a = Count(m.Lora.Parameters());
        m.Lora.Attach("b", config: new LoraOverride { R = 1, RankPattern = new Dictionary<string, int>() });
        long all = m.ParameterCount();
        Assert.Equal(a, Count(m.Lora.Parameters()));
        Assert.Equal(a, TrainableInSummary(m.Lora));
        Assert.Contains($"all params: {all:N0}".Replace('\u00a0', ','), m.Lora.Summary(), StringComparison.Ordinal);
        m.Lora.SetActive("b");
        Assert.Equal(1 * (6 + 10) + 1 * (10 + 3), TrainableInSummary(m.Lora));
        Assert.Equal(TrainableInSummary(m.Lora), Count(m.Lora.Parameters()));
    }

    [Fact]
    public void ANonDefaultAdapterIsSavedIntoItsSubdirectoryAndLoadFindsIt()
    {
        var m = NewMlp();
        m.Lora.Attach("default", seed: 1);
        m.Lora.Attach("b", seed: 2);
        m.Lora.SetActive("b");
        TrainStep(m);
        m.Eval();
        var outB = Out(m);
        m.Lora.Save(_dir, "default");
        m.Lora.Save(_dir, "b");
        Assert.True(File.Exists(Path.Combine(_dir, AdapterKeys.ConfigFile)));
        Assert.True(File.Exists(Path.Combine(_dir, "b", AdapterKeys.ConfigFile)));
        Assert.True(File.Exists(Path.Combine(_dir, "b", AdapterKeys.WeightsFile)));

        var fresh = NewMlp();
        fresh.Eval();
        fresh.Lora.Load(_dir);
        fresh.Lora.Load(_dir, "b");
        fresh.Lora.SetActive("b");
        Assert.Equal(outB, Out(fresh));
        Assert.Equal(["default", "b"], fresh.Lora.Names);
        Assert.Throws<ArgumentException>(() => m.Lora.Save(_dir, "../escape"));
    }

    [Fact]
    public void TargetsReportTheRankOfTheLoadedAdapter()
    {
        WriteForeignAdapter("""{"peft_type": "LORA", "r": 3, "lora_alpha": 12, "target_modules": ["fc1"]}""", rank: 3);
        var m = NewMlp();
        m.Lora.Load(_dir);
        var fc1 = m.Lora.Targets().Single(t => t.Path == "fc1");
        Assert.Equal(3, fc1.Config.Rank);   // the attribute says 4
        Assert.Equal(12.0, fc1.Config.Alpha);
    }

    [Fact]
    public void AttachTakesARunTimeOverrideThatModelLoraSees()
    {
        var m = NewMlp();
        m.Lora.Attach(config: new LoraOverride { R = 2, LoraAlpha = 6, RankPattern = new Dictionary<string, int> { ["fc2"] = 1 } });
        Assert.Equal([("fc1", 2, 6.0), ("fc2", 1, 6.0)], m.Lora.Targets().Select(t => (t.Path, t.Config.Rank, t.Config.Alpha)));
        Assert.Equal(2 * (6 + 10) + 1 * (10 + 3), Count(m.Lora.Parameters()));
        m.Lora.Save(_dir);
        var back = AdapterConfig.Load(Path.Combine(_dir, AdapterKeys.ConfigFile));
        Assert.Equal(2, back.R);
        Assert.Equal(6.0, back.LoraAlpha);

        var only = NewMlp();
        only.Lora.Attach(config: LoraOverride.From(new AdapterConfig { R = 16, LoraAlpha = 32, TargetModules = OneOrMany<string>.Many("fc2") }));
        Assert.Equal([("fc2", 16)], only.Lora.Targets().Select(t => (t.Path, t.Config.Rank)));
    }

    [Theory]
    [InlineData(0, null, null, "R (r)")]
    [InlineData(null, -1.0, null, "LoraAlpha (lora_alpha)")]
    [InlineData(null, null, 1.0, "LoraDropout (lora_dropout)")]
    public void ABadOverrideIsNamedAndChangesNothing(int? r, double? alpha, double? dropout, string named)
    {
        var m = NewMlp();
        var ex = Assert.Throws<ArgumentException>(() => m.Lora.Attach(config: new LoraOverride { R = r, LoraAlpha = alpha, LoraDropout = dropout }));
        Assert.Contains(named, ex.Message);
        Assert.Empty(m.Lora.Names);
        Assert.All(m.Lora.Targets(), t => Assert.Null(t.Layer.Lora));
    }

    [Fact]
    public void AnOverrideTargetTheModelLacksIsAnErrorNamingIt()
    {
        var m = NewMlp();
        var ex = Assert.Throws<ArgumentException>(() => m.Lora.Attach(config: new LoraOverride { TargetModules = ["fc1", "q_proj"] }));
        Assert.Contains("'q_proj'", ex.Message);
        Assert.DoesNotContain("'fc1',", ex.Message.Split("its layers")[0]);
        Assert.Empty(m.Lora.Names);
        Assert.Throws<ArgumentException>(() => m.Lora.Load(_dir, config: new LoraOverride { TargetModules = ["nope"] }));
    }

    [Fact]
    public void AListedTargetInsideANonPartialChildIsNamedWithTheReason()
    {
        var m = new HiddenTargetModel();
        var ex = Assert.Throws<InvalidOperationException>(() => m.Lora.Attach());
        Assert.Contains("'k'", ex.Message);
        Assert.Contains("not `partial`", ex.Message);
        Assert.Contains("Reachable layers: 'head'", ex.Message);
    }

    [Fact]
    public void TrainingAMergedModelSaysToUnmergeFirst()
    {
        var m = NewMlp();
        m.Lora.Attach();
        var opt = new AdamW(m.Lora.Parameters().ToList(), lr: 0.1f);
        foreach (var p in m.Lora.Parameters()) p.Grad = Tensor.Full(1f, p.Shape.ToArray());
        m.Lora.Merge();
        var ex = Assert.Throws<InvalidOperationException>(opt.Step);
        Assert.Contains("merged", ex.Message);
        Assert.Contains("Unmerge()", ex.Message);
        m.Lora.Unmerge();
        opt.Step();
    }
}
