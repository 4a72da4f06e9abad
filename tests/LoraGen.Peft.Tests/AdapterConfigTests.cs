using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LoraGen.Contract;
using Xunit;
using F = LoraGen.Contract.ConfigFields;

namespace LoraGen.Peft.Tests;

/// <summary>
/// adapter_config.json: PEFT 0.20 files round-trip byte for byte, missing fields take PEFT's defaults, bad fields
/// and bad files fail naming the field and the file, per-layer rank/alpha and target matching follow PEFT.
/// (Field names come from the contract, never spelled here.)
/// </summary>
public class AdapterConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("loragen-cfg-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    /// <summary>A JSON object from (field, raw JSON value) pairs.</summary>
    private static string Json(params (string Field, string Value)[] members) =>
        "{" + string.Join(", ", members.Select(m => $"\"{m.Field}\": {m.Value}")) + "}";

    // ---------------------------------------------------------------- round trips

    [Theory]
    [InlineData("peft020_llama.json")]
    [InlineData("peft020_everything.json")]
    [InlineData("peft020_regex.json")]
    public void Peft020ConfigsRoundTripByteForByte(string name)
    {
        var bytes = File.ReadAllBytes(Fixture(name));
        var config = AdapterConfig.Parse(bytes, name);
        var written = config.ToJson();
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(bytes), JsonNode.Parse(written)), "the JSON trees differ");
        Assert.Equal(Encoding.UTF8.GetString(bytes), written);
        Assert.Equal(bytes, config.ToUtf8Bytes());
        // Parsing what was written gives an equal config, and so does a copy.
        Assert.Equal(config, AdapterConfig.Parse(written));
        Assert.Equal(config.GetHashCode(), AdapterConfig.Parse(written).GetHashCode());
        Assert.Equal(config, config with { });
    }

    [Fact]
    public void ARealisticPeftConfigReadsAsPeftMeantIt()
    {
        var c = AdapterConfig.Load(Fixture("peft020_llama.json"));
        Assert.Equal(8, c.R);
        Assert.Equal(16, c.LoraAlpha);
        Assert.Equal(0.05, c.LoraDropout);
        Assert.False(c.TargetModules!.IsSingle);
        Assert.Equal(["v_proj", "q_proj", "o_proj", "k_proj"], c.TargetModules.Items);
        Assert.Equal(LoraBias.None, c.Bias);
        Assert.Equal(true, c.InitLoraWeights.Flag);
        Assert.Equal("CAUSAL_LM", c.TaskType);
        Assert.Equal("meta-llama/Llama-3.2-1B", c.BaseModelNameOrPath);
        Assert.True(c.InferenceMode);
        Assert.Null(c.Revision);
        Assert.Null(c.LayersToTransform);
        Assert.Empty(c.RankPattern);
        Assert.Equal(F.LoraPeftType, c.PeftType);
        // PEFT 0.20 writes 40 fields; the 20 without a property are kept as they are.
        string[] others =
        [
            F.AloraInvocationTokens, F.ArrowConfig, F.AutoMapping, F.CordaConfig, F.EnsureWeightTying, F.EvaConfig,
            F.LayerReplication, F.LoftqConfig, F.LoraBiasField, F.LoraGaConfig, F.MegatronConfig, F.MegatronCore,
            F.MontecloraConfig, F.PeftVersion, F.QaloraGroupSize, F.TargetParameters, F.TrainableTokenIndices,
            F.UseBdlora, F.UseQalora, F.VeloraConfig,
        ];
        Assert.Equal(others.Order(StringComparer.Ordinal), c.OtherFields.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(JsonValueKind.Object, c.OtherFields[F.LoftqConfig].ValueKind);
        Assert.Equal("0.20.0", c.OtherFields[F.PeftVersion].GetString());
        Assert.True(c.IsTargeted("model.layers.0.self_attn.q_proj"));
        Assert.False(c.IsTargeted("model.layers.0.mlp.up_proj"));
        Assert.Equal(2.0, c.ScalingFor("model.layers.0.self_attn.q_proj"));
    }

    [Fact]
    public void EveryPropertyReadsFromTheFile()
    {
        var c = AdapterConfig.Load(Fixture("peft020_everything.json"));
        Assert.Equal(16, c.R);
        Assert.Equal(32, c.LoraAlpha);
        Assert.Equal(1e-5, c.LoraDropout);
        Assert.Equal(["lm_head"], c.ExcludeModules!.Items);
        Assert.Equal(LoraBias.LoraOnly, c.Bias);
        Assert.True(c.UseRsLora && c.FanInFanOut && !c.UseDora && !c.InferenceMode);
        Assert.Equal("pissa_niter_4", c.InitLoraWeights.Method);
        Assert.Equal("/models/ünïcode-模型 \"quoted\"", c.BaseModelNameOrPath);
        Assert.Equal("main", c.Revision);
        Assert.Equal("SEQ_CLS", c.TaskType);
        Assert.Equal([0, 1, 3], c.LayersToTransform!.Items);
        Assert.True(c.LayersPattern!.IsSingle);
        Assert.Equal("layers", c.LayersPattern.Single);
        Assert.Equal(["classifier", "score"], c.ModulesToSave);
        // Patterns keep the file's order (PEFT takes the first key that matches).
        Assert.Equal(["model.layers.0.self_attn.v_proj", "q_proj"], c.RankPattern.Keys);
        Assert.Equal(4, c.RankFor("model.layers.0.self_attn.q_proj"));
        Assert.Equal(32, c.RankFor("model.layers.0.self_attn.v_proj"));
        Assert.Equal(16, c.RankFor("model.layers.1.self_attn.v_proj"));
        Assert.Equal(2.5, c.AlphaFor("model.layers.1.self_attn.q_proj"));
        Assert.Equal(64, c.AlphaFor("model.layers.3.self_attn.v_proj"));
        Assert.Equal(32, c.AlphaFor("model.layers.0.self_attn.q_proj"));
        Assert.Equal(32 / Math.Sqrt(4), c.ScalingFor("model.layers.0.self_attn.q_proj"));   // rsLoRA: α/√r
        Assert.Equal(JsonValueKind.Array, c.OtherFields[F.LayerReplication].ValueKind);
    }

    [Fact]
    public void ChangedValuesAreWrittenAfreshAndTheRestKeepTheirLiterals()
    {
        var c = AdapterConfig.Load(Fixture("peft020_everything.json"));
        Assert.Contains($"\"{F.LoraAlpha}\": 32.0,", c.ToJson());
        Assert.Contains($"\"{F.LoraAlpha}\": 32.0,", (c with { LoraAlpha = 32 }).ToJson());       // same value: same literal
        var changed = c with { R = 4, LoraAlpha = 8, LoraDropout = 0.25, TargetModules = OneOrMany<string>.One(".*q_proj"), LayersToTransform = null, LayersPattern = null };
        var json = changed.ToJson();
        Assert.Contains($"\"{F.R}\": 4,", json);
        Assert.Contains($"\"{F.LoraAlpha}\": 8,", json);
        Assert.Contains($"\"{F.LoraDropout}\": 0.25,", json);
        Assert.Contains($"\"{F.TargetModules}\": \".*q_proj\",", json);
        Assert.Contains($"\"{F.LayersToTransform}\": null,", json);
        Assert.Contains(": 1e-20", json);                       // untouched fields as they were
        Assert.NotEqual(c, changed);
        Assert.Equal(4, AdapterConfig.Parse(json).R);
    }

    [Fact]
    public void AConfigBuiltInCodeWritesWhatPythonJsonDumpsWrites()
    {
        var c = new AdapterConfig
        {
            R = 8,
            LoraAlpha = 16,
            LoraDropout = 0.05,
            TargetModules = new[] { "q_proj", "v_proj" },
            TaskType = "CAUSAL_LM",
            BaseModelNameOrPath = "gpt2",
            InferenceMode = true,
        };
        Assert.Equal(File.ReadAllText(Fixture("fresh_config.json")), c.ToJson());
    }

    [Fact]
    public void AMissingFieldTakesPeftsDefault()
    {
        var c = AdapterConfig.Parse(Json((F.PeftType, $"\"{F.LoraPeftType}\""), (F.R, "16")));
        Assert.Equal(16, c.R);
        Assert.Equal(PeftDefaults.LoraAlpha, c.LoraAlpha);
        Assert.Equal(8, c.LoraAlpha);
        Assert.Equal(PeftDefaults.LoraDropout, c.LoraDropout);
        Assert.Equal(LoraBias.None, c.Bias);
        Assert.False(c.UseRsLora || c.UseDora || c.FanInFanOut || c.InferenceMode);
        Assert.Equal(true, c.InitLoraWeights.Flag);
        Assert.Null(c.TargetModules);
        Assert.Equal(0.5, c.ScalingFor("any.path"));
        // Written back, it has the fields it had (what it lacked still takes the default), peft_type always.
        Assert.Equal($"{{\n  \"{F.PeftType}\": \"{F.LoraPeftType}\",\n  \"{F.R}\": 16\n}}", c.ToJson());
        Assert.Equal($"{{\n  \"{F.PeftType}\": \"{F.LoraPeftType}\"\n}}", AdapterConfig.Parse("{}").ToJson());
        Assert.Contains($"\"{F.LoraAlpha}\": 32", (c with { LoraAlpha = 32 }).ToJson());
    }

    [Fact]
    public void DuplicateKeysKeepTheLastAsJsonLoadDoes()
    {
        var c = AdapterConfig.Parse($"{{\"{F.R}\": 4, \"{F.R}\": 12}}");
        Assert.Equal(12, c.R);
    }

    // ---------------------------------------------------------------- errors

    [Fact]
    public void AStringRankFailsNamingR()
    {
        var path = Path.Combine(_dir, AdapterKeys.ConfigFile);
        File.WriteAllText(path, Json((F.PeftType, $"\"{F.LoraPeftType}\""), (F.R, "\"8\""), (F.LoraAlpha, "16")));
        var ex = Assert.Throws<AdapterConfigException>(() => AdapterConfig.Load(path));
        Assert.Equal(F.R, ex.Field);
        Assert.Equal(path, ex.Path);
        Assert.Contains($"\"{F.R}\"", ex.Message);
        Assert.Contains(path, ex.Message);
        Assert.Contains("the string \"8\"", ex.Message);
    }

    [Theory]
    [InlineData(F.R, "0")]
    [InlineData(F.R, "8.5")]
    [InlineData(F.R, "-3")]
    [InlineData(F.R, "null")]
    [InlineData(F.LoraAlpha, "\"16\"")]
    [InlineData(F.LoraAlpha, "0")]
    [InlineData(F.LoraAlpha, "-1.5")]
    [InlineData(F.LoraAlpha, "true")]
    [InlineData(F.LoraDropout, "1.0")]
    [InlineData(F.LoraDropout, "-0.1")]
    [InlineData(F.Bias, "\"some\"")]
    [InlineData(F.Bias, "null")]
    [InlineData(F.TargetModules, "5")]
    [InlineData(F.TargetModules, "[\"q_proj\", 1]")]
    [InlineData(F.TargetModules, "\"([\"")]
    [InlineData(F.ExcludeModules, "{}")]
    [InlineData(F.UseDora, "\"yes\"")]
    [InlineData(F.UseRsLora, "1")]
    [InlineData(F.FanInFanOut, "null")]
    [InlineData(F.InferenceMode, "\"true\"")]
    [InlineData(F.InitLoraWeights, "null")]
    [InlineData(F.InitLoraWeights, "\"\"")]
    [InlineData(F.RankPattern, "{\"q_proj\": \"4\"}")]
    [InlineData(F.RankPattern, "{\"q_proj\": 0}")]
    [InlineData(F.RankPattern, "[]")]
    [InlineData(F.AlphaPattern, "{\"q_proj\": -2}")]
    [InlineData(F.LayersToTransform, "\"1\"")]
    [InlineData(F.LayersToTransform, "[1, \"2\"]")]
    [InlineData(F.ModulesToSave, "\"lm_head\"")]
    [InlineData(F.TaskType, "7")]
    [InlineData(F.PeftType, "\"IA3\"")]
    [InlineData(F.LayersPattern, "\"layers\"")]   // without layers_to_transform, as PEFT refuses
    public void AnIllTypedOrOutOfRangeFieldFailsNamingIt(string field, string value)
    {
        var ex = Assert.Throws<AdapterConfigException>(() => AdapterConfig.Parse(Json((field, value)), "cfg.json"));
        Assert.Equal(field, ex.Field);
        Assert.StartsWith($"cfg.json: field \"{field}\" ", ex.Message);
    }

    [Fact]
    public void PeftsCrossFieldRulesHold()
    {
        var ex = Assert.Throws<AdapterConfigException>(() => AdapterConfig.Parse(Json((F.TargetModules, "\".*q\""), (F.LayersToTransform, "[0]"))));
        Assert.Equal(F.LayersToTransform, ex.Field);
        ex = Assert.Throws<AdapterConfigException>(() => AdapterConfig.Parse(Json((F.TargetModules, "\".*q\""), (F.LayersPattern, "\"h\""))));
        Assert.Equal(F.LayersPattern, ex.Field);
        ex = Assert.Throws<AdapterConfigException>(() => AdapterConfig.Parse(Json((F.LayersPattern, "\"h\""), (F.LayersToTransform, "0"))));   // 0 is falsy to PEFT
        Assert.Equal(F.LayersPattern, ex.Field);
        Assert.Equal(2, AdapterConfig.Parse(Json((F.LayersPattern, "\"h\""), (F.LayersToTransform, "2"))).LayersToTransform!.Single);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("[1, 2]")]
    [InlineData("")]
    [InlineData("{\"a\": 1,}")]
    public void ABadFileNamesThePath(string content)
    {
        var path = Path.Combine(_dir, "bad_" + AdapterKeys.ConfigFile);
        File.WriteAllText(path, content);
        var ex = Assert.Throws<AdapterConfigException>(() => AdapterConfig.Load(path));
        Assert.Equal(path, ex.Path);
        Assert.Null(ex.Field);
        Assert.StartsWith(path + ": ", ex.Message);
    }

    [Fact]
    public void ToJsonAppliesTheSameRules()
    {
        var ex = Assert.Throws<AdapterConfigException>(() => new AdapterConfig { R = 0 }.ToJson());
        Assert.Equal(F.R, ex.Field);
        Assert.Null(ex.Path);
        Assert.StartsWith($"adapter config: field \"{F.R}\" is 0: ", ex.Message);
        ex = Assert.Throws<AdapterConfigException>(() => new AdapterConfig { LoraDropout = 1 }.ToJson());
        Assert.Equal(F.LoraDropout, ex.Field);
        ex = Assert.Throws<AdapterConfigException>(() => new AdapterConfig { LoraAlpha = double.PositiveInfinity }.ToJson());
        Assert.Equal(F.LoraAlpha, ex.Field);
        var r = JsonDocument.Parse("4").RootElement.Clone();
        ex = Assert.Throws<AdapterConfigException>(() => new AdapterConfig { OtherFields = new Dictionary<string, JsonElement> { [F.R] = r } }.ToJson());
        Assert.Equal(F.R, ex.Field);
    }

    // ---------------------------------------------------------------- the writer's format

    [Theory]
    [InlineData(0.05, "0.05")]
    [InlineData(16.0, "16.0")]
    [InlineData(1e-05, "1e-05")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(1e16, "1e+16")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(123456789.123, "123456789.123")]
    [InlineData(2.5e-7, "2.5e-07")]
    [InlineData(1.0 / 3, "0.3333333333333333")]
    [InlineData(-0.0, "-0.0")]
    [InlineData(5e-324, "5e-324")]
    [InlineData(1.7976931348623157e308, "1.7976931348623157e+308")]
    [InlineData(0.30000000000000004, "0.30000000000000004")]
    [InlineData(12345000000000.0, "12345000000000.0")]
    public void FloatsAreWrittenAsPythonsRepr(double value, string python) => Assert.Equal(python, PythonJson.Float(value));

    [Fact]
    public void IntegralAlphasAreWrittenAsIntegers()
    {
        Assert.Equal("16", PythonJson.IntOrFloat(16));
        Assert.Equal("2.5", PythonJson.IntOrFloat(2.5));
    }

    [Fact]
    public void StringsAreEscapedAsEnsureAsciiDoesAndKeysSortedByCodePoint()
    {
        var c = new AdapterConfig { BaseModelNameOrPath = "é\u007f\u0001😀\ufffd" };
        Assert.Contains($"\"{F.BaseModelNameOrPath}\": \"\\u00e9\\u007f\\u0001\\ud83d\\ude00\\ufffd\",", c.ToJson());
        Assert.True(PythonJson.CompareKeys("\ufffd", "😀") < 0);   // UTF-16 order would say the opposite
        Assert.True(string.CompareOrdinal("\ufffd", "😀") > 0);
        Assert.True(PythonJson.CompareKeys("a", "ab") < 0);
    }

    // ---------------------------------------------------------------- PEFT's matching rules

    [Fact]
    public void AListOfTargetsMatchesNamesAndDottedSuffixes()
    {
        var c = new AdapterConfig { TargetModules = new[] { "q_proj", "self_attn.v_proj" } };
        Assert.True(c.IsTargeted("q_proj"));
        Assert.True(c.IsTargeted("model.layers.0.self_attn.q_proj"));
        Assert.True(c.IsTargeted("model.layers.0.self_attn.v_proj"));
        Assert.False(c.IsTargeted("model.layers.0.cross_attn.v_proj"));
        Assert.False(c.IsTargeted("model.layers.0.self_attn.xq_proj"));
        Assert.False(new AdapterConfig().IsTargeted("q_proj"));                               // no targets: nothing
        Assert.False((c with { TargetModules = Array.Empty<string>() }).IsTargeted("q_proj"));
    }

    [Fact]
    public void AStringTargetIsARegexOverTheWholePath()
    {
        var c = AdapterConfig.Load(Fixture("peft020_regex.json"));
        Assert.True(c.TargetModules!.IsSingle);
        Assert.True(c.IsTargeted("transformer.h.11.attn.c_attn"));
        Assert.False(c.IsTargeted("transformer.h.11.attn.c_attn.extra"));   // fullmatch, not search
        Assert.False(c.IsTargeted("transformer.h.11.attn.c_proj"));
        var named = new AdapterConfig { TargetModules = OneOrMany<string>.One(@"(?P<blk>h)\.\d+\.(?P=blk)_proj") };   // Python group syntax
        Assert.True(named.IsTargeted(@"h.3.h_proj"));
        var all = new AdapterConfig { TargetModules = OneOrMany<string>.One("ALL-LINEAR") };
        Assert.True(all.IsTargeted("anything.at.all"));
        Assert.False(all.IsTargeted("wte", LayerKind.Embedding));
    }

    [Fact]
    public void ExclusionsAndModulesToSaveWin()
    {
        var c = new AdapterConfig { TargetModules = new[] { "q_proj", "score" }, ExcludeModules = new[] { "layers.1.self_attn.q_proj" }, ModulesToSave = ["score"] };
        Assert.True(c.IsTargeted("model.layers.0.self_attn.q_proj"));
        Assert.False(c.IsTargeted("model.layers.1.self_attn.q_proj"));
        Assert.False(c.IsTargeted("score"));
        var regex = c with { ExcludeModules = OneOrMany<string>.One(@".*layers\.0\..*") };
        Assert.False(regex.IsTargeted("model.layers.0.self_attn.q_proj"));
        Assert.True(regex.IsTargeted("model.layers.1.self_attn.q_proj"));
    }

    [Fact]
    public void LayersToTransformPicksLayerIndices()
    {
        var c = AdapterConfig.Parse(Json((F.TargetModules, "[\"q_proj\", \"down_proj\"]"), (F.LayersToTransform, "[0, 2]"), (F.LayersPattern, "\"layers\"")));
        Assert.True(c.IsTargeted("model.layers.0.self_attn.q_proj"));
        Assert.False(c.IsTargeted("model.layers.1.self_attn.q_proj"));
        Assert.True(c.IsTargeted("model.layers.2.mlp.experts.1.down_proj"));
        Assert.False(c.IsTargeted("model.blocks.2.self_attn.q_proj"));        // not under "layers"
        // Without a pattern the first numbered segment is the layer (lazily: not an expert index).
        var any = c with { LayersPattern = null, LayersToTransform = 1 };
        Assert.True(any.IsTargeted("model.blocks.1.mlp.experts.0.down_proj"));
        Assert.False(any.IsTargeted("model.blocks.0.mlp.experts.1.down_proj"));
        Assert.False(any.IsTargeted("q_proj"));                                // no index at all
    }

    [Fact]
    public void RankPatternKeysAreRegexesOverADottedSuffix()
    {
        var c = new AdapterConfig
        {
            R = 8,
            RankPattern = new Dictionary<string, int> { [@"layers\.[01]\.self_attn\.q_proj"] = 2, ["v_proj"] = 4 },
            AlphaPattern = new Dictionary<string, double> { ["model.layers.3.mlp.up_proj"] = 3.5 },
        };
        Assert.Equal(2, c.RankFor("model.layers.1.self_attn.q_proj"));
        Assert.Equal(8, c.RankFor("model.layers.2.self_attn.q_proj"));
        Assert.Equal(4, c.RankFor("model.layers.2.self_attn.v_proj"));
        Assert.Equal(8, c.RankFor("model.layers.2.self_attn.xv_proj"));       // a suffix must start at a dot
        Assert.Equal(3.5, c.AlphaFor("model.layers.3.mlp.up_proj"));          // a full path works too
        Assert.Equal(8, c.AlphaFor("layers.3.mlp.up_proj"));
    }
}
