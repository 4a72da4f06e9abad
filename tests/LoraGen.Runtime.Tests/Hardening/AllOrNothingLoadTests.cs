using LoraGen.Lora;
using LoraGen.Peft;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests.Hardening;

/// <summary>
/// Issue 17 items 7 and 8: a load that fails changes nothing (no frozen base, no adapter on any layer, no name
/// registered) and a retry with a good adapter works; bad fields and non-finite weights are typed errors.
/// </summary>
public sealed class AllOrNothingLoadTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "loragen-aon-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private const string Good = """{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"]}""";

    public static TheoryData<string> BadConfigs() =>
    [
        """{"r": 4, "lora_alpha": 0, "target_modules": ["q_proj", "v_proj"]}""",
        """{"r": 4, "lora_alpha": -16, "target_modules": ["q_proj", "v_proj"]}""",
        """{"r": 4, "lora_alpha": 1e400, "target_modules": ["q_proj", "v_proj"]}""",
        """{"r": 4, "lora_alpha": "16", "target_modules": ["q_proj", "v_proj"]}""",
        """{"r": 4, "lora_dropout": 1.5, "target_modules": ["q_proj", "v_proj"]}""",
        """{"r": 4, "alpha_pattern": {"v_proj": -1}, "target_modules": ["q_proj", "v_proj"]}""",
        """{"r": 4, "alpha_pattern": {"v_proj": 1e400}, "target_modules": ["q_proj", "v_proj"]}""",
        """{"r": 4, "alpha_pattern": ["v_proj"], "target_modules": ["q_proj", "v_proj"]}""",
        """{"r": 4, "rank_pattern": {"v_proj": 0}, "target_modules": ["q_proj", "v_proj"]}""",
        """{"r": 4, "rank_pattern": {"v_proj": 2}, "target_modules": ["q_proj", "v_proj"]}""",
        """{"r": 4, "rank_pattern": "v_proj", "target_modules": ["q_proj", "v_proj"]}""",
        """{"r": 4, "rank_pattern": {"(": 4}, "target_modules": ["q_proj", "v_proj"]}""",
        """{"r": 4, "target_modules": 5}""",
        """{"r": 4, "target_modules": ["k_proj"]}""",
        """{"r": 4, "target_modules": "nothing_here"}""",
    ];

    private static void AssertUnchanged(TwoProjModel model, float[][] before)
    {
        Assert.Empty(model.Lora.Names);
        Assert.Null(model.Lora.Active);
        Assert.Null(model.Q.Adapter);
        Assert.Null(model.V.Adapter);
        Assert.All(model.Parameters(), p => Assert.True(p.RequiresGrad, "a failed load froze the base"));
        Assert.Equal(before, model.BaseWeights());
    }

    private void AssertRetryWorks(TwoProjModel model)
    {
        var good = _dir + "-good";
        try
        {
            TwoProjModel.WriteAdapter(good, Good);
            model.Lora.Load(good);
            Assert.Equal(["default"], model.Lora.Names);
            Assert.NotNull(model.Q.Adapter);
            Assert.NotNull(model.V.Adapter);
        }
        finally { Directory.Delete(good, recursive: true); }
    }

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void ABadConfigChangesNothingAndARetryWorks(string config)
    {
        var model = new TwoProjModel();
        var before = model.BaseWeights();
        TwoProjModel.WriteAdapter(_dir, config);
        Assert.Throws<LoraAdapterException>(() => model.Lora.Load(_dir));
        AssertUnchanged(model, before);
        AssertRetryWorks(model);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void NonFiniteWeightsAreRefusedUnlessTheCallerOptsIn(float poison)
    {
        var model = new TwoProjModel();
        var before = model.BaseWeights();
        TwoProjModel.WriteAdapter(_dir, Good, poison: poison);
        var ex = Assert.Throws<LoraAdapterException>(() => model.Lora.Load(_dir));
        Assert.Contains("v_proj", ex.Message, StringComparison.Ordinal);
        Assert.Contains("non-finite", ex.Message, StringComparison.Ordinal);
        AssertUnchanged(model, before);

        model.Lora.Load(_dir, allowNonFinite: true);
        Assert.Equal(["default"], model.Lora.Names);
    }

    [Fact]
    public void ALayerThatAlreadyHoldsTheNameFailsTheWholeLoadBeforeAnythingChanges()
    {
        var model = new TwoProjModel();
        model.V.EnableLora("v_proj").Add("default", new LoraConfig(2, 4), new Rng(1));   // added by hand, unknown to the facade
        TwoProjModel.WriteAdapter(_dir, Good);
        var ex = Assert.Throws<LoraAdapterException>(() => model.Lora.Load(_dir));
        Assert.Contains("already", ex.Message, StringComparison.Ordinal);
        Assert.Null(model.Q.Adapter);
        Assert.Empty(model.Lora.Names);
        Assert.True(model.Q.Weight.RequiresGrad);
        model.Lora.Load(_dir, "second");   // another name still loads
        Assert.Equal(["second"], model.Lora.Names);
    }

    [Fact]
    public void AnInvalidAttachSettingFreezesNothing()
    {
        var model = new TwoProjModel();
        model.V.EnableLora("v_proj").Add("default", new LoraConfig(2, 4), new Rng(1));
        Assert.ThrowsAny<Exception>(() => model.Lora.Attach());
        Assert.Null(model.Q.Adapter);
        Assert.True(model.Q.Weight.RequiresGrad);
        Assert.Empty(model.Lora.Names);
    }
}
