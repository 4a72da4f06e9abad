using LoraGen.Peft;
using Xunit;

namespace LoraGen.Peft.Tests;

/// <summary>
/// Issue 19: the one place the adapted set is computed (<see cref="AdapterConfig.SelectLayers"/>), the output head
/// "all-linear" leaves out, trainable_token_indices, the fields LoraGen refuses, and the keys of saved modules and
/// trained token rows — each checked against what PEFT's source does.
/// </summary>
public class SelectionTests
{
    private static readonly List<(string, LayerKind)> Gpt =
    [
        ("transformer.wte", LayerKind.Embedding),
        ("transformer.h.0.attn.q_proj", LayerKind.Linear), ("transformer.h.0.attn.v_proj", LayerKind.Linear),
        ("transformer.h.1.attn.q_proj", LayerKind.Linear), ("transformer.h.1.attn.v_proj", LayerKind.Linear),
        ("transformer.h.10.attn.q_proj", LayerKind.Linear),
        ("lm_head", LayerKind.Linear),
    ];

    private static IReadOnlyList<string> Select(string json) => AdapterConfig.Parse(json).SelectLayers(Gpt);

    [Fact]
    public void LayersToTransformReadsTheIndexAfterThePattern()
    {
        Assert.Equal(["transformer.h.0.attn.q_proj", "transformer.h.0.attn.v_proj"],
            Select("""{"target_modules": ["q_proj", "v_proj"], "layers_to_transform": [0], "layers_pattern": "h"}"""));
        Assert.Equal(["transformer.h.1.attn.q_proj"],                           // one int, and h.10 is not h.1
            Select("""{"target_modules": ["q_proj"], "layers_to_transform": 1, "layers_pattern": ["blocks", "h"]}"""));
        Assert.Equal(["transformer.h.10.attn.q_proj"],                          // no pattern: any "NAME.INDEX." segment
            Select("""{"target_modules": ["q_proj"], "layers_to_transform": [10]}"""));
    }

    [Fact]
    public void APatternAtTheModelRootNeverMatchesAsInPeft()
    {
        // PEFT: re.match(rf".*?\.{pattern}\.(\d+)\.", key) needs a dot before the pattern.
        var cfg = AdapterConfig.Parse("""{"target_modules": ["q_proj"], "layers_to_transform": [0], "layers_pattern": "h"}""");
        Assert.False(cfg.IsTargeted("h.0.attn.q_proj"));
        Assert.True(cfg.IsTargeted("model.h.0.attn.q_proj"));
    }

    [Fact]
    public void ExcludeModulesAndModulesToSaveAreNeverAdapted()
    {
        Assert.Equal(["transformer.h.0.attn.q_proj", "transformer.h.10.attn.q_proj"],
            Select("""{"target_modules": ["q_proj"], "exclude_modules": ["transformer.h.1.attn.q_proj"]}"""));
        Assert.Equal(["transformer.h.0.attn.v_proj", "transformer.h.1.attn.v_proj"],
            Select("""{"target_modules": ["q_proj", "v_proj"], "exclude_modules": ".*q_proj"}"""));
        Assert.DoesNotContain("lm_head", Select("""{"target_modules": ["lm_head", "q_proj"], "modules_to_save": ["lm_head"]}"""));
    }

    [Fact]
    public void RegexIsAFullMatchAndAllLinearLeavesOutTheHead()
    {
        Assert.Empty(Select("""{"target_modules": "q_proj"}"""));
        Assert.Equal(["transformer.h.1.attn.q_proj", "transformer.h.1.attn.v_proj"], Select("""{"target_modules": ".*\\.h\\.1\\..*"}"""));
        var all = Select("""{"target_modules": "ALL-LINEAR"}""");
        Assert.Equal(5, all.Count);
        Assert.DoesNotContain("lm_head", all);
        Assert.DoesNotContain("transformer.wte", all);
        Assert.Equal("lm_head", AdapterConfig.OutputLayer(Gpt));
        Assert.Null(AdapterConfig.OutputLayer(Gpt.Take(5).ToList()));   // a model ending in a nested layer has no head
    }

    [Fact]
    public void TrainableTokenIndicesListAndDictForms()
    {
        var list = AdapterConfig.Parse("""{"trainable_token_indices": [5, 7]}""").TrainableTokenIndices();
        Assert.Equal([5, 7], list[AdapterConfig.InputEmbeddingKey]);
        var dict = AdapterConfig.Parse("""{"trainable_token_indices": {"embed_tokens": [1], "lm_head": [2, 3]}}""").TrainableTokenIndices();
        Assert.Equal(["embed_tokens", "lm_head"], dict.Keys);
        Assert.Empty(AdapterConfig.Parse("""{"trainable_token_indices": null}""").TrainableTokenIndices());
        Assert.Contains("trainable_token_indices", Assert.Throws<AdapterConfigException>(() =>
            AdapterConfig.Parse("""{"trainable_token_indices": [1, -2]}""").TrainableTokenIndices()).Message);
        Assert.Contains("twice", Assert.Throws<AdapterConfigException>(() =>
            AdapterConfig.Parse("""{"trainable_token_indices": [1, 1]}""").TrainableTokenIndices()).Message);

        var written = new AdapterConfig { TargetModules = OneOrMany<string>.Many("q_proj") }
            .WithTrainableTokenIndices(new Dictionary<string, IReadOnlyList<int>> { ["model.embed_tokens"] = [4, 9] });
        Assert.Contains("\"trainable_token_indices\": {\n    \"model.embed_tokens\": [\n      4,\n      9\n    ]\n  }", written.ToJson());
        Assert.Equal([4, 9], AdapterConfig.Parse(written.ToJson()).TrainableTokenIndices()["model.embed_tokens"]);
    }

    [Fact]
    public void FieldsLoraGenDoesNotHonourAreNamedOnlyWhenUsed()
    {
        Assert.Empty(AdapterConfig.Parse("""{"lora_bias": false, "layer_replication": null, "target_parameters": [], "use_qalora": false, "eva_config": {"rho": 2}}""").FieldsNotHonoured());
        var used = AdapterConfig.Parse("""{"lora_bias": true, "layer_replication": [[0, 2]], "target_parameters": ["experts.w"], "alora_invocation_tokens": [1]}""").FieldsNotHonoured();
        Assert.Equal(4, used.Count);
        Assert.Contains(used, u => u.StartsWith("\"lora_bias\"", StringComparison.Ordinal));
        Assert.Contains(used, u => u.StartsWith("\"alora_invocation_tokens\"", StringComparison.Ordinal));
    }

    [Fact]
    public void SavedModuleAndTokenKeysArePeftsAndAreNotLoraPairs()
    {
        Assert.Equal("base_model.model.lm_head.weight", AdapterKeys.SavedModule("lm_head", AdapterKeys.WeightParameter));
        Assert.Equal("base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta", AdapterKeys.TrainableTokens("model.embed_tokens"));
        Assert.Equal("modules_to_save.default.weight", AdapterKeys.ModuleSavedCopy("default", "weight"));
        Assert.Equal("token_adapter.trainable_tokens_delta.default", AdapterKeys.ModuleTokensDelta("default"));
        Assert.False(AdapterKeys.TryParse(AdapterKeys.TrainableTokens("wte"), out _, out _, out _));
        Assert.False(AdapterKeys.TryParse(AdapterKeys.SavedModule("lm_head", "bias"), out _, out _, out _));
    }
}
