using System.Text.Json.Nodes;
using LoraGen.Families;
using LoraGen.Hub;
using Xunit;

namespace LoraGen.Models.Tests;

/// <summary>Damaged model directories: each a typed error naming the file and key; no model comes back.</summary>
public class BadInputTests
{
    [Fact]
    public void TruncatedShardNamesTheShard()
    {
        string dir = Fixtures.Copy("llama");
        string shard = Path.Combine(dir, "model-00002-of-00002.safetensors");
        var bytes = File.ReadAllBytes(shard);
        File.WriteAllBytes(shard, bytes[..(bytes.Length - 100)]);
        var e = Assert.Throws<ModelFileException>(() => HfModels.Load(dir));
        Assert.Equal(shard, e.File);
    }

    [Fact]
    public void IndexNamingAMissingShardNamesShardAndKey()
    {
        string dir = Fixtures.Copy("llama");
        File.Delete(Path.Combine(dir, "model-00002-of-00002.safetensors"));
        var e = Assert.Throws<ModelFileException>(() => HfModels.Load(dir));
        Assert.EndsWith("model.safetensors.index.json", e.File);
        Assert.NotNull(e.Key);
        Assert.Contains("model-00002-of-00002.safetensors", e.Detail);
    }

    [Fact]
    public void IndexPuttingAKeyInTheWrongShardIsRefused()
    {
        string dir = Fixtures.Copy("llama");
        string index = Path.Combine(dir, "model.safetensors.index.json");
        var json = JsonNode.Parse(File.ReadAllText(index))!;
        json["weight_map"]!["model.norm.weight"] = "model-00001-of-00002.safetensors";
        File.WriteAllText(index, json.ToJsonString());
        var e = Assert.Throws<ModelFileException>(() => HfModels.Load(dir));
        Assert.Equal("model.norm.weight", e.Key);
    }

    [Fact]
    public void ShapeThatDoesNotFitTheConfigNamesTheKeys()
    {
        string dir = Fixtures.Copy("gpt2");
        string cfg = Path.Combine(dir, "config.json");
        var json = JsonNode.Parse(File.ReadAllText(cfg))!;
        json["n_positions"] = 32;
        File.WriteAllText(cfg, json.ToJsonString());
        var e = Assert.Throws<ModelFileException>(() => HfModels.Load(dir));
        Assert.Contains("wpe.weight: file [64, 64], config expects [32, 64]", e.Message);
    }

    [Fact]
    public void MissingAndUnexpectedKeysAreListedByName()
    {
        string dir = Fixtures.Copy("llama3-tied");
        string cfg = Path.Combine(dir, "config.json");
        var json = JsonNode.Parse(File.ReadAllText(cfg))!;
        json["num_hidden_layers"] = 1;      // layer 1's weights become unexpected
        json["tie_word_embeddings"] = false; // lm_head.weight becomes missing
        File.WriteAllText(cfg, json.ToJsonString());
        var e = Assert.Throws<ModelFileException>(() => HfModels.Load(dir));
        Assert.Contains("missing keys: lm_head.weight", e.Message);
        Assert.Contains("model.layers.1.self_attn.q_proj.weight", e.Message);
    }

    [Fact]
    public void UnknownDTypeIsATypedError()
    {
        string dir = Fixtures.Copy("llama3-tied");
        string file = Path.Combine(dir, "model.safetensors");
        var bytes = File.ReadAllBytes(file);
        var header = System.Text.Encoding.UTF8.GetString(bytes, 8, (int)BitConverter.ToUInt64(bytes, 0));
        int at = header.IndexOf("\"F16\"", StringComparison.Ordinal);
        System.Text.Encoding.UTF8.GetBytes("\"Q16\"").CopyTo(bytes, 8 + at);
        File.WriteAllBytes(file, bytes);
        var e = Assert.Throws<ModelFileException>(() => HfModels.Load(dir));
        Assert.Equal(file, e.File);
    }

    [Fact]
    public void NoWeightsAtAllSaysWhatWasExpected()
    {
        string dir = Fixtures.Copy("gpt2");
        File.Delete(Path.Combine(dir, "model.safetensors"));
        var e = Assert.Throws<ModelFileException>(() => HfModels.Load(dir));
        Assert.Contains("model.safetensors", e.Detail);
    }

    [Theory]
    [InlineData("""{"model_type": "bert"}""", "model_type", "supported: gpt2, llama")]
    [InlineData("""{"vocab_size": 10}""", "model_type", "missing")]
    [InlineData("""{"model_type": "gpt2", "n_embd": 64, "n_head": 4, "n_layer": 2, "n_positions": 8}""", "vocab_size", "missing")]
    [InlineData("""{"model_type": "gpt2", "vocab_size": 9, "n_embd": 64, "n_head": 5, "n_layer": 2, "n_positions": 8}""", "n_head", "divisible")]
    [InlineData("""{"model_type": "gpt2", "vocab_size": 9, "n_embd": 64, "n_head": 4, "n_layer": 2, "n_positions": 8, "activation_function": "relu"}""", "activation_function", "supported: gelu_new")]
    [InlineData("""{"model_type": "llama", "vocab_size": 9, "hidden_size": 64, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 3}""", "num_key_value_heads", "multiple")]
    [InlineData("""{"model_type": "llama", "vocab_size": 9, "hidden_size": 64, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 4, "rope_scaling": {"rope_type": "longrope", "factor": 2}}""", "rope_scaling.rope_type", "supported: default, linear, dynamic, yarn, llama3")]
    [InlineData("""{"model_type": "llama", "vocab_size": 9, "hidden_size": 64, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 4, "rope_scaling": {"rope_type": "yarn", "factor": 0.5}}""", "rope_scaling.factor", "at least 1")]
    [InlineData("""{"model_type": "gpt2", "vocab_size": "nine", "n_embd": 64, "n_head": 4, "n_layer": 2, "n_positions": 8}""", "vocab_size", "integer")]
    [InlineData("""[1, 2]""", null, "object")]
    [InlineData("""{"model_type": """, null, "JSON")]
    public void ConfigErrorsNameTheField(string json, string? field, string detail)
    {
        var e = Assert.Throws<ModelFileException>(() => HfConfig.Parse(json, "config.json"));
        Assert.Equal("config.json", e.File);
        Assert.Equal(field, e.Key);
        Assert.Contains(detail, e.Detail);
    }

    [Fact]
    public void ConfigToleratesFieldsWithoutEffect()
    {
        var c = (LlamaConfig)HfConfig.Read(Path.Combine(Fixtures.Dir("llama3-tied"), "config.json"));
        Assert.Equal(new RopeScaling("llama3", 4, 1, 4, 32), c.RopeScaling);
        Assert.Equal(2, c.KeyValueHeads);
        Assert.True(c.TieWordEmbeddings);
        Assert.Equal([299], c.EosTokenIds);
    }

    [Fact]
    public void FamilyStateDictNamesAreTheLayoutsKeys()
    {
        foreach (var name in new[] { "gpt2", "llama", "llama3-tied" })
        {
            var model = HfModels.Load(Fixtures.Dir(name));
            Assert.Equal(model.Layout.Specs.Select(s => s.Key).Order(), model.StateDict().Select(kv => kv.Key).Order());
        }
    }

    [Fact]
    public void UntiedGpt2WithoutThePrefixStillFindsItsKeys()
    {
        // lm_head.weight never carries "transformer.": its presence must not make the loader expect prefixed keys.
        var layout = WeightLayout.Gpt2((Gpt2Config)HfConfig.Read(Path.Combine(Fixtures.Dir("gpt2"), "config.json")) with { TieWordEmbeddings = false });
        Assert.False(layout.PrefixInFile(k => k == "lm_head.weight" || !k.StartsWith("transformer.", StringComparison.Ordinal)));
        Assert.True(layout.PrefixInFile(k => k == "transformer.wte.weight"));
    }
}
