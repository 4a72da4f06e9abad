using LoraGen.Autograd;
using LoraGen.Lora;
using LoraGen.Nn;
using LoraGen.Runtime.Tests.Hardening;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests.Variants;

/// <summary>Mixed-adapter batches: every row equals its own adapter's forward (or the base's), within 1e-6.</summary>
public class MixedBatchTests
{
    private static void Near(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6f, $"{what}[{i}]: {actual[i]} vs {expected[i]}");
    }

    [Fact]
    public void EveryRowMatchesItsAdaptersOwnForward()
    {
        var model = new TwoProjModel();
        model.Lora.Attach("x", seed: 1);
        model.Lora.Attach("y", seed: 2, config: new LoraOverride { R = 2, LoraAlpha = 4 });
        model.Lora.Attach("d", seed: 3, config: new LoraOverride { UseDora = true });
        var rng = new Rng(4);
        foreach (var p in model.Lora.Names.SelectMany(n => new[] { model.Q.Lora!, model.V.Lora! }.SelectMany(s => s.Adapters[n].Parameters())))
            if (p.Rank == 2) rng.FillNormal(p.Data, 0, 0.4f);
        model.Eval();
        string[] rows = ["x", LoraModelController.BaseRow, "d", "y", "x"];
        var input = Tensor.Randn(new Rng(5), 1, rows.Length, 3, TwoProjModel.In);
        using var _ = GradMode.NoGrad();
        var own = new Dictionary<string, float[]>();
        foreach (var n in model.Lora.Names) { model.Lora.SetActive(n); own[n] = model.Forward(input).ToArray(); }
        using (model.Lora.Disable()) own[LoraModelController.BaseRow] = model.Forward(input).ToArray();
        float[] mixed;
        using (model.Lora.MixedBatch(rows)) mixed = model.Forward(input).ToArray();
        int per = mixed.Length / rows.Length;
        for (int b = 0; b < rows.Length; b++)
            Near(own[rows[b]].AsSpan(b * per, per), mixed.AsSpan(b * per, per), $"row {b} ({rows[b]})");
        Assert.NotEqual(own["x"], own["y"]);
        // The scope ends: the active adapter runs for every row again.
        Assert.Equal(own[model.Lora.Active!], model.Forward(input).ToArray());
    }

    [Fact]
    public void EmbeddingRowsAndRefusals()
    {
        var emb = new Embedding(10, 6, new Rng(1));
        emb.Freeze();
        var slot = emb.EnableLora("wte");
        slot.Add("p", new LoraConfig(2, 2), new Rng(2));
        slot.Add("d", new LoraConfig(2, 2, UseDora: true), new Rng(3));
        foreach (var ad in slot.Adapters.Values) new Rng(4).FillNormal(ad.A.Data, 0, 0.5f);
        int[] ids = [1, 2, 3, 4, 5, 6];
        var own = new Dictionary<string, float[]>();
        foreach (var n in new[] { "p", "d" }) { slot.SetActive(n); own[n] = emb.Forward(ids, 3, 2).ToArray(); }
        slot.Disabled = true;
        own["__base__"] = emb.Forward(ids, 3, 2).ToArray();
        slot.Disabled = false;
        string[] rows = ["d", "__base__", "p"];
        slot.RowAdapters = rows;
        var mixed = emb.Forward(ids, 3, 2).ToArray();
        for (int b = 0; b < 3; b++) Near(own[rows[b]].AsSpan(b * 12, 12), mixed.AsSpan(b * 12, 12), $"embedding row {b}");
        slot.RowAdapters = ["p"];
        Assert.Throws<ArgumentException>(() => emb.Forward(ids, 3, 2));   // 1 name, 3 rows

        var model = new TwoProjModel();
        model.Lora.Attach("x");
        Assert.Throws<KeyNotFoundException>(() => model.Lora.MixedBatch(["x", "nope"]));
        using (model.Lora.MixedBatch(["x"]))
            Assert.Throws<InvalidOperationException>(() => model.Forward(Tensor.Randn(new Rng(1), 1, 1, TwoProjModel.In)));   // training mode
    }
}
