using System.Text.Json;
using LoraGen.Lora;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests.Peft;

/// <summary>
/// Issue 19 items 1, 2 and 6: layers_to_transform + layers_pattern, exclude_modules, a regular-expression and an
/// "all-linear" target_modules, on Load (PEFT-layout files written by hand), Attach (run-time override) and Save.
/// </summary>
public sealed class LayerSelectionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("loragen-select-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Sub(string name) => Path.Combine(_dir, name);

    private static float[] Input(int seed) => Tensor.Randn(new Rng((ulong)seed), 0.5f, GptLikeModel.Dim).ToArray();

    private static Dictionary<string, JsonElement> ConfigOf(string dir) =>
        JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(Path.Combine(dir, AdapterKeys.ConfigFile)))!;

    private static string Compact(JsonElement e) => JsonSerializer.Serialize(e);

    private static string[] KeysOf(string dir)
    {
        using var f = SafetensorsFile.Open(Path.Combine(dir, AdapterKeys.WeightsFile));
        return f.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>The adapted output of the layer at <paramref name="path"/> against the hand computation from the file's tensors.</summary>
    private static void AssertAdapted(GptLikeModel model, string dir, string path, int rank, double scale)
    {
        using var f = SafetensorsFile.Open(Path.Combine(dir, AdapterKeys.WeightsFile));
        var a = f.LoadTensor(AdapterKeys.A(path, LayerKind.Linear)).ToArray();
        var b = f.LoadTensor(AdapterKeys.B(path, LayerKind.Linear)).ToArray();
        var layer = (LoraGen.Nn.Linear)model.At(path);
        var x = Input(3);
        var expected = GptLikeModel.LinearByHand(x, layer.Weight, layer.Bias, a, b, rank, scale);
        GptLikeModel.Close(expected, layer.Forward(Tensor.FromArray(x, 1, GptLikeModel.Dim)));
    }

    [Fact]
    public void LayersToTransformLoadsOnlyBlockZeroAndSavesTheFieldBack()   // regression: item 1
    {
        var src = Sub("peft");
        var entries = new List<SafetensorsEntry>();
        var rng = new Rng(1);
        GptLikeModel.AddPair(entries, rng, "transformer.h.0.attn.q_proj", 2);
        GptLikeModel.AddPair(entries, rng, "transformer.h.0.attn.v_proj", 2);
        GptLikeModel.Write(src, """{"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["q_proj", "v_proj"], "layers_to_transform": [0], "layers_pattern": "h"}""", entries);

        var model = new GptLikeModel();
        model.Lora.Load(src);
        Assert.NotNull(model.At("transformer.h.0.attn.q_proj").Lora);
        Assert.Null(model.At("transformer.h.1.attn.q_proj").Adapter);
        Assert.Null(model.At("transformer.h.1.attn.v_proj").Adapter);
        AssertAdapted(model, src, "transformer.h.0.attn.q_proj", 2, 4.0 / 2);
        AssertAdapted(model, src, "transformer.h.0.attn.v_proj", 2, 4.0 / 2);

        var saved = Sub("saved");
        model.Lora.Save(saved);
        var cfg = ConfigOf(saved);
        Assert.Equal("[0]", Compact(cfg["layers_to_transform"]));
        Assert.Equal("\"h\"", cfg["layers_pattern"].GetRawText());
        Assert.Equal(KeysOf(src), KeysOf(saved));

        var again = new GptLikeModel();
        again.Lora.Load(saved);   // LoraGen loads its own save: block 1 stays unadapted
        Assert.Null(again.At("transformer.h.1.attn.q_proj").Adapter);
        AssertAdapted(again, src, "transformer.h.0.attn.q_proj", 2, 2.0);
    }

    [Fact]
    public void LayersToTransformOnAttachAdaptsOnlyThoseLayersAndSaveWritesIt()
    {
        var model = new GptLikeModel();
        model.Lora.Attach(config: new LoraOverride { LayersToTransform = [1], LayersPattern = ["h"] });
        Assert.Null(model.At("transformer.h.0.attn.q_proj").Adapter);
        Assert.NotNull(model.At("transformer.h.1.attn.q_proj").Lora);
        Assert.NotNull(model.At("transformer.h.1.attn.v_proj").Lora);
        var saved = Sub("attach");
        model.Lora.Save(saved);
        Assert.Equal("[1]", Compact(ConfigOf(saved)["layers_to_transform"]));
        Assert.Equal(["base_model.model.transformer.h.1.attn.q_proj.lora_A.weight", "base_model.model.transformer.h.1.attn.q_proj.lora_B.weight",
            "base_model.model.transformer.h.1.attn.v_proj.lora_A.weight", "base_model.model.transformer.h.1.attn.v_proj.lora_B.weight"], KeysOf(saved));
    }

    [Fact]
    public void LayersPatternWithoutLayersIsRefusedOnAttachNamingTheField() =>
        Assert.Contains("layers_to_transform", Assert.Throws<ArgumentException>(() =>
            new GptLikeModel().Lora.Attach(config: new LoraOverride { LayersPattern = ["h"] })).Message);

    [Fact]
    public void ExcludeModulesLoadsWithTheExcludedLayerUnadaptedAndSavesTheField()   // regression: item 2
    {
        var src = Sub("peft");
        var entries = new List<SafetensorsEntry>();
        var rng = new Rng(2);
        foreach (var p in new[] { "transformer.h.0.attn.q_proj", "transformer.h.0.attn.v_proj", "transformer.h.1.attn.q_proj" })
            GptLikeModel.AddPair(entries, rng, p, 4);
        GptLikeModel.Write(src, """{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"], "exclude_modules": ["transformer.h.1.attn.v_proj"]}""", entries);

        var model = new GptLikeModel();
        model.Lora.Load(src);
        Assert.Null(model.At("transformer.h.1.attn.v_proj").Adapter);
        AssertAdapted(model, src, "transformer.h.1.attn.q_proj", 4, 2.0);

        var saved = Sub("saved");
        model.Lora.Save(saved);
        Assert.Equal("""["transformer.h.1.attn.v_proj"]""", Compact(ConfigOf(saved)["exclude_modules"]));
        Assert.Equal(KeysOf(src), KeysOf(saved));
        new GptLikeModel().Lora.Load(saved);
    }

    [Fact]
    public void ExcludeModulesOnAttachAndARegexExclusion()
    {
        var model = new GptLikeModel();
        model.Lora.Attach(config: new LoraOverride { ExcludeModules = ["v_proj"] });
        Assert.All(model.Lora.Targets(), t => Assert.EndsWith("q_proj", t.Path));
        Assert.Equal(2, model.Lora.Targets().Count);

        var cfg = AdapterConfig.Parse("""{"target_modules": ["q_proj", "v_proj"], "exclude_modules": ".*h\\.0.*"}""");
        Assert.Equal(["transformer.h.1.attn.q_proj", "transformer.h.1.attn.v_proj"], cfg.SelectLayers(Layers(new GptLikeModel())));
    }

    private static List<(string, LayerKind)> Layers(GptLikeModel m) =>
        LoraGen.Lora.AdaptableLayers.Find(m).Select(l => (l.Path, l.Layer.Kind)).ToList();

    [Fact]
    public void ARegexTargetIsAFullMatchOnLoadAttachAndSave()   // item 6
    {
        const string regex = @"transformer\.h\.1\.attn\.(q|k)_proj";
        var src = Sub("peft");
        var entries = new List<SafetensorsEntry>();
        var rng = new Rng(3);
        GptLikeModel.AddPair(entries, rng, "transformer.h.1.attn.q_proj", 2);
        GptLikeModel.AddPair(entries, rng, "transformer.h.1.attn.k_proj", 2);
        GptLikeModel.Write(src, $$"""{"peft_type": "LORA", "r": 2, "lora_alpha": 2, "target_modules": {{JsonSerializer.Serialize(regex)}}}""", entries);

        var model = new GptLikeModel();
        model.Lora.Load(src);
        Assert.Equal(["transformer.h.1.attn.q_proj", "transformer.h.1.attn.k_proj"], model.Lora.Targets().Select(t => t.Path));
        AssertAdapted(model, src, "transformer.h.1.attn.k_proj", 2, 1.0);
        var saved = Sub("saved");
        model.Lora.Save(saved);
        Assert.Equal(regex, ConfigOf(saved)["target_modules"].GetString());   // written back as PEFT wrote it: one string
        Assert.Equal(KeysOf(src), KeysOf(saved));

        // A full match: "q_proj" alone (a suffix, not the whole path) matches nothing.
        Assert.Empty(AdapterConfig.Parse("""{"target_modules": "q_proj"}""").SelectLayers(Layers(model)));
        var attached = new GptLikeModel();
        attached.Lora.Attach(config: new LoraOverride { TargetRegex = @".*\.h\.0\.attn\.k_proj" });
        Assert.Equal(["transformer.h.0.attn.k_proj"], attached.Lora.Targets().Select(t => t.Path));
        Assert.Contains("matches no", Assert.Throws<ArgumentException>(() => new GptLikeModel().Lora.Attach(config: new LoraOverride { TargetRegex = "q_proj" })).Message);
    }

    [Fact]
    public void AllLinearAdaptsEveryLinearButTheOutputHead()   // item 6
    {
        var model = new GptLikeModel();
        model.Lora.Attach(config: new LoraOverride { TargetRegex = "all-linear" });
        var paths = model.Lora.Targets().Select(t => t.Path).ToList();
        Assert.Equal(6, paths.Count);
        Assert.DoesNotContain("lm_head", paths);
        Assert.DoesNotContain("transformer.wte", paths);
        var saved = Sub("saved");
        model.Lora.Save(saved);
        Assert.Equal("all-linear", ConfigOf(saved)["target_modules"].GetString());
        var again = new GptLikeModel();
        again.Lora.Load(saved);
        Assert.Equal(paths, again.Lora.Targets().Select(t => t.Path));

        // [LoraModel(Targets = new[] { "all-linear" })] at run time: the same set.
        var declared = new GptLikeModel("all-linear");
        declared.Lora.Attach();
        Assert.Equal(paths, declared.Lora.Targets().Select(t => t.Path));
    }

    [Fact]
    public void AFieldLoraGenDoesNotHonourIsRefusedNamingIt()
    {
        var src = Sub("peft");
        var entries = new List<SafetensorsEntry>();
        GptLikeModel.AddPair(entries, new Rng(4), "transformer.h.0.attn.q_proj", 2);
        GptLikeModel.Write(src, """{"peft_type": "LORA", "r": 2, "target_modules": ["transformer.h.0.attn.q_proj"], "lora_bias": true, "layer_replication": [[0, 1]]}""", entries);
        var ex = Assert.Throws<LoraAdapterException>(() => new GptLikeModel().Lora.Load(src));
        Assert.Contains("\"lora_bias\"", ex.Message);
        Assert.Contains("\"layer_replication\"", ex.Message);

        // Their defaults (what PEFT writes when unused) load fine.
        GptLikeModel.Write(src, """{"peft_type": "LORA", "r": 2, "target_modules": ["transformer.h.0.attn.q_proj"], "lora_bias": false, "layer_replication": null, "target_parameters": null, "use_qalora": false}""", entries);
        new GptLikeModel().Lora.Load(src);
    }
}
