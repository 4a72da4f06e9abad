using System.Text.Json;
using LoraGen.Autograd;
using LoraGen.Lora;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests.Peft;

/// <summary>
/// Issue 19 items 5 and 7: <c>modules_to_save</c> (full trainable copies, PEFT's file keys
/// <c>base_model.model.PATH.weight</c>) and <c>trainable_token_indices</c> (trained embedding rows,
/// <c>base_model.model.PATH.token_adapter.trainable_tokens_delta</c>), both ways: PEFT-layout files written by hand
/// load and compute what their tensors say; LoraGen's save writes the fields and keys PEFT writes.
/// </summary>
public sealed class AuxiliaryModuleTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("loragen-aux-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Sub(string name) => Path.Combine(_dir, name);

    private static string[] KeysOf(string dir)
    {
        using var f = SafetensorsFile.Open(Path.Combine(dir, AdapterKeys.WeightsFile));
        return f.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal).ToArray();
    }

    private static Dictionary<string, JsonElement> ConfigOf(string dir) =>
        JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(Path.Combine(dir, AdapterKeys.ConfigFile)))!;

    private const string HeadWeight = "base_model.model.lm_head.weight", HeadBias = "base_model.model.lm_head.bias";

    /// <summary>A PEFT file: LoRA on h.0 q_proj and a full copy of lm_head.</summary>
    private (Tensor W, Tensor B) WriteModulesToSave(string dir, ulong seed)
    {
        var entries = new List<SafetensorsEntry>();
        var rng = new Rng(seed);
        GptLikeModel.AddPair(entries, rng, "transformer.h.0.attn.q_proj", 2);
        var w = Tensor.Randn(rng, 0.5f, GptLikeModel.Vocab, GptLikeModel.Dim);
        var b = Tensor.Randn(rng, 0.5f, GptLikeModel.Vocab);
        entries.Add(w.ToEntry(HeadWeight));
        entries.Add(b.ToEntry(HeadBias));
        GptLikeModel.Write(dir, """{"peft_type": "LORA", "r": 2, "lora_alpha": 2, "target_modules": ["q_proj"], "layers_to_transform": [0], "layers_pattern": "h", "modules_to_save": ["lm_head"]}""", entries);
        return (w, b);
    }

    [Fact]
    public void ModulesToSaveLoadsTheCopySwitchesWithTheAdapterMergesByReplacementAndSavesPeftKeys()
    {
        var src = Sub("peft");
        var (w, b) = WriteModulesToSave(src, 1);
        var model = new GptLikeModel();
        var baseW = model.LmHead.Weight.ToArray();
        var x = Tensor.Randn(new Rng(9), 0.5f, GptLikeModel.Dim).ToArray();
        var xt = Tensor.FromArray(x, 1, GptLikeModel.Dim);
        var baseOut = GptLikeModel.LinearByHand(x, model.LmHead.Weight, model.LmHead.Bias);

        model.Lora.Load(src);
        var copyOut = GptLikeModel.LinearByHand(x, w, b);
        GptLikeModel.Close(copyOut, model.LmHead.Forward(xt));                 // the copy computes lm_head
        Assert.Equal(["modules_to_save.default.bias", "modules_to_save.default.weight"],
            model.LmHead.AdapterParameters().Select(p => p.Name).Order(StringComparer.Ordinal));   // PEFT's in-memory names

        using (model.Lora.Disable()) GptLikeModel.Close(baseOut, model.LmHead.Forward(xt));

        // Another adapter without a copy of lm_head: the base layer computes it, as PEFT.
        model.Lora.Attach("other");
        model.Lora.SetActive("other");
        GptLikeModel.Close(baseOut, model.LmHead.Forward(xt));
        model.Lora.SetActive("default");

        model.Lora.Merge();                                                    // merge by replacement
        Assert.Equal(w.ToArray(), model.LmHead.Weight.ToArray());
        GptLikeModel.Close(copyOut, model.LmHead.Forward(xt));
        model.Lora.Unmerge();
        Assert.Equal(baseW, model.LmHead.Weight.ToArray());

        var saved = Sub("saved");
        model.Lora.Save(saved, "default");
        Assert.Equal(KeysOf(src), KeysOf(saved));
        Assert.Equal("""["lm_head"]""", JsonSerializer.Serialize(ConfigOf(saved)["modules_to_save"]));
        using (var f = SafetensorsFile.Open(Path.Combine(saved, AdapterKeys.WeightsFile)))
            Assert.Equal(w.ToArray(), f.LoadTensor(HeadWeight).ToArray());
        var again = new GptLikeModel();
        again.Lora.Load(saved);
        GptLikeModel.Close(copyOut, again.LmHead.Forward(xt));
    }

    [Fact]
    public void ModulesToSaveOnAttachTrainsACopyAndMergeAndUnloadKeepsIt()
    {
        var model = new GptLikeModel();
        var baseW = model.LmHead.Weight.ToArray();
        model.Lora.Attach(config: new LoraOverride { ModulesToSave = ["lm_head"] });
        Assert.Null(model.LmHead.Lora);                                       // saved, not LoRA-adapted
        var copy = ((SavedModuleSlot)model.LmHead.Adapter!).Copies["default"];
        Assert.Contains(copy.Weight, model.Lora.Parameters());
        Assert.DoesNotContain(model.LmHead.Weight, model.Lora.Parameters());
        copy.Weight.Data[0] += 1f;                                            // "training"
        var saved = Sub("saved");
        model.Lora.Save(saved);
        Assert.Contains(HeadWeight, KeysOf(saved));
        Assert.Contains(HeadBias, KeysOf(saved));
        model.Lora.MergeAndUnload();
        Assert.Null(model.LmHead.Adapter);
        Assert.Equal(baseW[0] + 1f, model.LmHead.Weight.Data[0]);
    }

    [Fact]
    public void UnexpectedFullModuleKeysAreRefusedNamingModulesToSave()
    {
        var src = Sub("peft");
        var entries = new List<SafetensorsEntry>();
        GptLikeModel.AddPair(entries, new Rng(2), "transformer.h.0.attn.q_proj", 2);
        entries.Add(Tensor.Zeros(GptLikeModel.Vocab, GptLikeModel.Dim).ToEntry(HeadWeight));
        GptLikeModel.Write(src, """{"peft_type": "LORA", "r": 2, "target_modules": ["transformer.h.0.attn.q_proj"]}""", entries);
        var ex = Assert.Throws<LoraAdapterException>(() => new GptLikeModel().Lora.Load(src));
        Assert.Contains("modules_to_save", ex.Message);
        Assert.Contains(HeadWeight, ex.Message);

        GptLikeModel.Write(src, """{"peft_type": "LORA", "r": 2, "target_modules": ["transformer.h.0.attn.q_proj"], "modules_to_save": ["classifier"]}""", entries);
        ex = Assert.Throws<LoraAdapterException>(() => new GptLikeModel().Lora.Load(src));
        Assert.Contains("\"modules_to_save\" names \"classifier\"", ex.Message);
    }

    private const string TokensKey = "base_model.model.transformer.wte.token_adapter.trainable_tokens_delta";

    [Theory]
    [InlineData("[3, 7]")]
    [InlineData("""{"wte": [3, 7]}""")]
    public void TrainableTokensReplaceTheirRowsMergeAndSaveInPeftLayout(string indices)
    {
        var src = Sub("peft");
        var entries = new List<SafetensorsEntry>();
        var rng = new Rng(3);
        GptLikeModel.AddPair(entries, rng, "transformer.h.0.attn.q_proj", 2);
        var rows = Tensor.Randn(rng, 1f, 2, GptLikeModel.Dim);
        entries.Add(rows.ToEntry(TokensKey));
        GptLikeModel.Write(src, $$"""{"peft_type": "LORA", "r": 2, "target_modules": ["transformer.h.0.attn.q_proj"], "trainable_token_indices": {{indices}}}""", entries);

        var model = new GptLikeModel();
        var baseW = model.Transformer.Wte.Weight.ToArray();
        model.Lora.Load(src);
        int[] ids = [3, 1, 7, 3];
        var y = model.Transformer.Wte.Forward(ids, 4);
        const int d = GptLikeModel.Dim;
        for (int i = 0; i < ids.Length; i++)
        {
            var expected = ids[i] switch
            {
                3 => rows.Data.Slice(0, d).ToArray(),
                7 => rows.Data.Slice(d, d).ToArray(),
                var id => baseW.AsSpan(id * d, d).ToArray(),
            };
            Assert.Equal(expected, y.Data.Slice(i * d, d).ToArray());
        }
        Assert.Equal(["token_adapter.trainable_tokens_delta.default"], model.Transformer.Wte.AdapterParameters().Select(p => p.Name));

        model.Lora.Merge();   // W[3], W[7] = the trained rows (PEFT's index_copy)
        Assert.Equal(rows.Data.Slice(d, d).ToArray(), model.Transformer.Wte.Weight.Data.Slice(7 * d, d).ToArray());
        Assert.Equal(baseW.AsSpan(0, 3 * d).ToArray(), model.Transformer.Wte.Weight.Data.Slice(0, 3 * d).ToArray());
        Assert.Equal(y.ToArray(), model.Transformer.Wte.Forward(ids, 4).ToArray());
        model.Lora.Unmerge();
        Assert.Equal(baseW, model.Transformer.Wte.Weight.ToArray());

        var saved = Sub("saved");
        model.Lora.Save(saved);
        Assert.Equal(KeysOf(src), KeysOf(saved));
        Assert.Equal("""{"transformer.wte":[3,7]}""", JsonSerializer.Serialize(ConfigOf(saved)["trainable_token_indices"]));
        var again = new GptLikeModel();
        again.Lora.Load(saved);
        Assert.Equal(y.ToArray(), again.Transformer.Wte.Forward(ids, 4).ToArray());
    }

    [Fact]
    public void TrainableTokensOnAttachStartAsTheBaseRowsAndOnlyThoseRowsGetGradients()
    {
        var model = new GptLikeModel();
        model.Lora.Attach(config: new LoraOverride { TrainableTokenIndices = new Dictionary<string, IReadOnlyList<int>> { [""] = [2] } });
        var slot = (TrainableTokensSlot)model.Transformer.Wte.Adapter!;
        var rows = slot.ByName["default"].Rows;
        Assert.Equal(model.Transformer.Wte.Weight.Data.Slice(2 * GptLikeModel.Dim, GptLikeModel.Dim).ToArray(), rows.ToArray());
        Assert.Contains(rows, model.Lora.Parameters());
        var y = model.Transformer.Wte.Forward([2, 0], 2);
        y.Sum().Backward();
        Assert.Equal(Enumerable.Repeat(1f, GptLikeModel.Dim), rows.Grad!.ToArray());   // position 0 (id 2) only
        Assert.Null(model.Transformer.Wte.Weight.Grad);                                  // the base is frozen
    }

    [Fact]
    public void TrainableTokensOutsideTheTableAreRefusedNamingTheField()
    {
        var src = Sub("peft");
        var entries = new List<SafetensorsEntry>();
        GptLikeModel.AddPair(entries, new Rng(4), "transformer.h.0.attn.q_proj", 2);
        entries.Add(Tensor.Zeros(1, GptLikeModel.Dim).ToEntry(TokensKey));
        GptLikeModel.Write(src, """{"peft_type": "LORA", "r": 2, "target_modules": ["transformer.h.0.attn.q_proj"], "trainable_token_indices": [42]}""", entries);
        var ex = Assert.Throws<LoraAdapterException>(() => new GptLikeModel().Lora.Load(src));
        Assert.Contains("trainable_token_indices", ex.Message);
        Assert.Contains("42", ex.Message);
    }
}
