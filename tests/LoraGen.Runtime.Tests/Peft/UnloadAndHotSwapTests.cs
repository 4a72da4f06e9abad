using LoraGen.Lora;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests.Peft;

/// <summary>
/// Issue 19 item 8: <c>Unload()</c> (PEFT's unload: every adapter gone, the untouched base back) and
/// <c>HotSwap</c> (PEFT's hotswap_adapter: another adapter's weights into an existing slot, no new module tree,
/// atomic per layer against a forward on another thread).
/// </summary>
public sealed class UnloadAndHotSwapTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("loragen-swap-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Sub(string name) => Path.Combine(_dir, name);

    /// <summary>A PEFT file adapting h.0 q_proj only, rank <paramref name="rank"/>, α <paramref name="alpha"/>.</summary>
    private string WriteQ(string name, ulong seed, int rank = 2, int alpha = 2, bool withLmHead = false)
    {
        var dir = Sub(name);
        var entries = new List<SafetensorsEntry>();
        GptLikeModel.AddPair(entries, new Rng(seed), "transformer.h.0.attn.q_proj", rank);
        if (withLmHead) entries.Add(Tensor.Randn(new Rng(seed + 100), 0.5f, GptLikeModel.Vocab, GptLikeModel.Dim).ToEntry("base_model.model.lm_head.weight"));
        if (withLmHead) entries.Add(Tensor.Randn(new Rng(seed + 200), 0.5f, GptLikeModel.Vocab).ToEntry("base_model.model.lm_head.bias"));
        var save = withLmHead ? """, "modules_to_save": ["lm_head"]""" : "";
        GptLikeModel.Write(dir, $$"""{"peft_type": "LORA", "r": {{rank}}, "lora_alpha": {{alpha}}, "target_modules": ["transformer.h.0.attn.q_proj"]{{save}}}""", entries);
        return dir;
    }

    private static double[] Expected(GptLikeModel model, string dir, float[] x, double scale)
    {
        using var f = SafetensorsFile.Open(Path.Combine(dir, AdapterKeys.WeightsFile));
        var a = f.LoadTensor(AdapterKeys.A("transformer.h.0.attn.q_proj", LayerKind.Linear));
        var b = f.LoadTensor(AdapterKeys.B("transformer.h.0.attn.q_proj", LayerKind.Linear));
        var q = model.Transformer.H[0].Attention.Q;
        return GptLikeModel.LinearByHand(x, q.Weight, q.Bias, a.ToArray(), b.ToArray(), a.Dim(0), scale);
    }

    [Fact]
    public void UnloadRemovesEveryAdapterAndGivesBackTheUntouchedBase()
    {
        var model = new GptLikeModel();
        var before = model.BaseWeights();
        model.Lora.Attach(seed: 1, config: new LoraOverride { ModulesToSave = ["lm_head"], TrainableTokenIndices = new Dictionary<string, IReadOnlyList<int>> { ["wte"] = [1] } });
        model.Lora.Load(WriteQ("b", 2), "b");
        foreach (var p in model.Lora.Parameters()) p.Data[0] += 0.5f;   // as if trained
        model.Lora.Merge();
        Assert.NotEqual(before, model.BaseWeights());
        model.Lora.Unload();
        Assert.Empty(model.Lora.Names);
        Assert.Null(model.Lora.Active);
        Assert.All(LoraGen.Lora.AdaptableLayers.Find(model), l => Assert.Null(l.Layer.Adapter));
        Assert.Equal(before, model.BaseWeights());   // bit-identical: unmerged, not merged
        model.Lora.Attach("again");                 // a plain model again
    }

    [Fact]
    public void HotSwapLoadsAnotherAdaptersWeightsIntoTheSameSlot()
    {
        var model = new GptLikeModel();
        var first = WriteQ("first", 1, alpha: 2);
        var second = WriteQ("second", 2, alpha: 8);
        model.Lora.Load(first);
        var slot = model.Transformer.H[0].Attention.Q.Adapter;
        var x = Tensor.Randn(new Rng(5), 0.5f, GptLikeModel.Dim).ToArray();
        var xt = Tensor.FromArray(x, 1, GptLikeModel.Dim);
        GptLikeModel.Close(Expected(model, first, x, 1.0), model.Transformer.H[0].Attention.Q.Forward(xt));

        model.Lora.HotSwap(second);
        Assert.Same(slot, model.Transformer.H[0].Attention.Q.Adapter);   // no new slot, no new module
        Assert.Equal(["default"], model.Lora.Names);
        GptLikeModel.Close(Expected(model, second, x, 4.0), model.Transformer.H[0].Attention.Q.Forward(xt));   // new α too
    }

    [Fact]
    public void HotSwapOfAnotherShapeOrLayerSetChangesNothing()
    {
        var model = new GptLikeModel();
        var first = WriteQ("first", 1);
        model.Lora.Load(first);
        var x = Tensor.Randn(new Rng(5), 0.5f, GptLikeModel.Dim).ToArray();
        var xt = Tensor.FromArray(x, 1, GptLikeModel.Dim);
        var ex = Assert.Throws<LoraAdapterException>(() => model.Lora.HotSwap(WriteQ("rank4", 3, rank: 4)));
        Assert.Contains("rank 4", ex.Message);
        ex = Assert.Throws<LoraAdapterException>(() => model.Lora.HotSwap(WriteQ("head", 4, withLmHead: true)));
        Assert.Contains("modules_to_save", ex.Message);
        Assert.Throws<KeyNotFoundException>(() => model.Lora.HotSwap(first, "nope"));
        GptLikeModel.Close(Expected(model, first, x, 1.0), model.Transformer.H[0].Attention.Q.Forward(xt));
        Assert.Null(model.LmHead.Adapter);
    }

    [Fact]
    public void AForwardOnAnotherThreadSeesTheOldOrTheNewAdapterNeverAMix()
    {
        var model = new GptLikeModel();
        var first = WriteQ("first", 1);
        var second = WriteQ("second", 2);
        model.Lora.Load(first);
        var q = model.Transformer.H[0].Attention.Q;
        var x = Tensor.Randn(new Rng(5), 0.5f, GptLikeModel.Dim).ToArray();
        var xt = Tensor.FromArray(x, 1, GptLikeModel.Dim);
        var yFirst = q.Forward(xt).ToArray();
        model.Lora.HotSwap(second);
        var ySecond = q.Forward(xt).ToArray();
        Assert.NotEqual(yFirst, ySecond);

        int torn = 0, passes = 0;
        using var stop = new CancellationTokenSource();
        var reader = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var y = q.Forward(xt).ToArray();
                if (!y.SequenceEqual(yFirst) && !y.SequenceEqual(ySecond)) Interlocked.Increment(ref torn);
                Interlocked.Increment(ref passes);
            }
        });
        reader.Start();
        for (int i = 0; i < 200; i++) model.Lora.HotSwap(i % 2 == 0 ? first : second);
        while (Volatile.Read(ref passes) < 50) Thread.Yield();
        stop.Cancel();
        reader.Join();
        Assert.Equal(0, torn);
    }
}
