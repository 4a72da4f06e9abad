using LoraGen.Lora;
using LoraGen.Nn;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests.Peft;

/// <summary>
/// Issue 19 item 3: a layer reachable under two field names (tied/shared modules) is adapted once, saved once under
/// its first path, and loads whether the file names it under one path or the other.
/// </summary>
public sealed class SharedLayerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("loragen-shared-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary><c>encoder</c> and <c>decoder</c> are one Linear (as <c>this.decoder = this.encoder</c> in a constructor); <c>other</c> is its own.</summary>
    private sealed class TiedModel : Module
    {
        private readonly bool _specOnBoth;

        public TiedModel(bool specOnBoth, params string[] targets)
        {
            _specOnBoth = specOnBoth;
            Encoder = new Linear(4, 4, rng: new Rng(5));
            Decoder = Encoder;
            Other = new Linear(4, 4, rng: new Rng(6));
            Lora = new LoraModelController(this, LoraModelOptions.FromFieldsOnly with { Targets = targets });
        }

        public Linear Encoder { get; }
        public Linear Decoder { get; }
        public Linear Other { get; }
        public LoraModelController Lora { get; }

        public override IEnumerable<(string Name, Module Module)> Children()
        {
            yield return ("encoder", Encoder);
            yield return ("decoder", Decoder);
            yield return ("other", Other);
        }

        protected internal override AdapterSpec? AdapterSpecFor(string childName) =>
            childName == "decoder" || (_specOnBoth && childName == "encoder") ? new LoraFieldSpec(new LoraConfig(2, 4)) : null;
    }

    private static string[] KeysOf(string dir)
    {
        using var f = SafetensorsFile.Open(Path.Combine(dir, AdapterKeys.WeightsFile));
        return f.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal).ToArray();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ASharedLayerIsAdaptedOnceAndSavedOnceUnderItsFirstPath(bool specOnBoth)   // regression: item 3
    {
        var model = new TiedModel(specOnBoth);
        model.Lora.Attach(seed: 3);   // used to throw "an adapter named 'default' already exists"
        Assert.Equal(["encoder"], model.Lora.Targets().Select(t => t.Path));
        Assert.Single(model.Encoder.Lora!.Adapters);
        model.Lora.Save(_dir);
        Assert.Equal(["base_model.model.encoder.lora_A.weight", "base_model.model.encoder.lora_B.weight"], KeysOf(_dir));
        var again = new TiedModel(specOnBoth);
        again.Lora.Load(_dir);   // LoraGen loads its own save
        Assert.Equal(model.Encoder.Lora!.Adapters["default"].A.ToArray(), again.Decoder.Lora!.Adapters["default"].A.ToArray());
    }

    [Fact]
    public void ASharedLayerTargetedByBothNamesIsAdaptedOnce()
    {
        var model = new TiedModel(false, "encoder", "decoder");
        model.Lora.Attach();
        Assert.Equal(["encoder"], model.Lora.Targets().Select(t => t.Path));
    }

    [Theory]
    [InlineData("encoder")]
    [InlineData("decoder")]
    public void AFileNamingTheSharedLayerUnderEitherPathLoads(string path)
    {
        var entries = new List<SafetensorsEntry>();
        var a = Tensor.Randn(new Rng(1), 0.5f, 2, 4);
        var b = Tensor.Randn(new Rng(2), 0.5f, 4, 2);
        entries.Add(a.ToEntry(AdapterKeys.A(path, LayerKind.Linear)));
        entries.Add(b.ToEntry(AdapterKeys.B(path, LayerKind.Linear)));
        GptLikeModel.Write(_dir, $$"""{"peft_type": "LORA", "r": 2, "lora_alpha": 2, "target_modules": ["{{path}}"]}""", entries);
        var model = new TiedModel(false);
        model.Lora.Load(_dir);
        Assert.Null(model.Other.Adapter);
        var x = Tensor.Randn(new Rng(4), 0.5f, 4).ToArray();
        var expected = GptLikeModel.LinearByHand(x, model.Encoder.Weight, model.Encoder.Bias, a.ToArray(), b.ToArray(), 2, 1.0);
        GptLikeModel.Close(expected, model.Decoder.Forward(Tensor.FromArray(x, 1, 4)));
        GptLikeModel.Close(expected, model.Encoder.Forward(Tensor.FromArray(x, 1, 4)));

        var saved = Path.Combine(_dir, "saved");
        model.Lora.Save(saved);
        Assert.Equal(["base_model.model.encoder.lora_A.weight", "base_model.model.encoder.lora_B.weight"], KeysOf(saved));
    }

    /// <summary>A block holding one Linear <c>proj</c>; <c>a</c> and <c>b</c> are one block, <c>c</c> is its own.</summary>
    private sealed class Block : Module
    {
        public Block(ulong seed) => Proj = new Linear(4, 4, rng: new Rng(seed));

        public Linear Proj { get; }

        public override IEnumerable<(string Name, Module Module)> Children()
        {
            yield return ("proj", Proj);
        }
    }

    private sealed class SharedBlockModel : Module
    {
        public SharedBlockModel()
        {
            A = new Block(5);
            B = A;
            C = new Block(6);
            Lora = new LoraModelController(this, LoraModelOptions.FromFieldsOnly with { Targets = ["proj"] });
        }

        public Block A { get; }
        public Block B { get; }
        public Block C { get; }
        public LoraModelController Lora { get; }

        public override IEnumerable<(string Name, Module Module)> Children()
        {
            yield return ("a", A);
            yield return ("b", B);
            yield return ("c", C);
        }
    }

    [Fact]
    public void ExcludingASharedLayerSurvivesSaveAndReload()   // regression: exclude_modules listed only its first path
    {
        var model = new SharedBlockModel();
        model.Lora.Attach(seed: 3, config: new LoraOverride { TargetModules = ["proj"], ExcludeModules = ["a.proj"] });
        Assert.Equal(["c.proj"], model.Lora.Targets().Select(t => t.Path));
        model.Lora.Save(_dir);
        Assert.Equal(["base_model.model.c.proj.lora_A.weight", "base_model.model.c.proj.lora_B.weight"], KeysOf(_dir));
        var config = AdapterConfig.Parse(File.ReadAllText(Path.Combine(_dir, AdapterKeys.ConfigFile)));
        Assert.True(config.IsExcluded("a.proj"));
        Assert.True(config.IsExcluded("b.proj"));

        var again = new SharedBlockModel();
        again.Lora.Load(_dir);   // used to fail: the shared layer was reached through b.proj and its keys were missing
        Assert.Null(again.A.Proj.Adapter);
        Assert.Equal(model.C.Proj.Lora!.Adapters["default"].A.ToArray(), again.C.Proj.Lora!.Adapters["default"].A.ToArray());
    }

    [Fact]
    public void AliasesListTheOtherPaths()
    {
        var aliases = AdaptableLayers.Aliases(new TiedModel(false));
        Assert.Equal(["decoder"], aliases["encoder"]);
        Assert.Single(aliases);
    }
}
