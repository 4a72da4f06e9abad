using LoraGen.Lora;
using LoraGen.Optim;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests.Hardening;

/// <summary>
/// Issue 17 item 9, the merged state defined: saving base weights while merged is refused; loading base weights
/// resets the merge; an optimizer step while merged is refused before it changes anything.
/// </summary>
public sealed class MergedStateTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("loragen-merged-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static TwoProjModel Trained()
    {
        var model = new TwoProjModel();
        model.Lora.Attach();
        foreach (var b in model.Lora.Parameters()) new Rng(7).FillNormal(b.Data, 0, 0.5f);
        return model;
    }

    [Fact]
    public void SaveWeightsWhileMergedIsRefusedAndUnmergedSavesTheBase()
    {
        var model = Trained();
        var baseW = model.BaseWeights();
        model.Lora.Merge();
        var path = Path.Combine(_dir, "w.safetensors");
        var ex = Assert.Throws<InvalidOperationException>(() => model.SaveWeights(path));
        Assert.Contains("Unmerge", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
        model.Lora.Unmerge();
        model.SaveWeights(path);
        var fresh = new TwoProjModel();
        fresh.LoadWeights(path);
        for (int i = 0; i < baseW.Length; i++) Assert.Equal(baseW[i], fresh.BaseWeights()[i], new FloatTolerance(1e-6f));
    }

    [Fact]
    public void LoadWeightsWhileMergedResetsTheMergeSoUnmergeDoesNotSubtractAgain()
    {
        var model = Trained();
        var path = Path.Combine(_dir, "base.safetensors");
        model.SaveWeights(path);
        var baseW = model.BaseWeights();
        var x = Tensor.Randn(new Rng(3), 1, 2, TwoProjModel.In);
        var adapted = model.Forward(x).ToArray();
        model.Lora.Merge();
        model.LoadWeights(path);
        Assert.False(model.Lora.IsMerged);
        Assert.Equal(baseW, model.BaseWeights());
        Assert.Equal(adapted, model.Forward(x).ToArray(), new FloatTolerance(1e-5f));   // the adapter contributes again
        model.Lora.Unmerge();
        Assert.Equal(baseW, model.BaseWeights());                                      // no W − ΔW
    }

    [Fact]
    public void AnOptimizerStepWhileMergedIsRefusedAndChangesNothing()
    {
        var model = Trained();
        var baseW = model.BaseWeights();
        var opt = new AdamW(model.Lora.Parameters().ToList(), lr: 0.1f);
        foreach (var p in model.Lora.Parameters()) p.Grad = Tensor.Full(1f, p.Shape.ToArray());
        var before = model.Lora.Parameters().Select(p => p.ToArray()).ToList();
        model.Lora.Merge();
        var ex = Assert.Throws<InvalidOperationException>(opt.Step);
        Assert.Contains("merged", ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, model.Lora.Parameters().Select(p => p.ToArray()).ToList());
        model.Lora.Unmerge();
        opt.Step();   // allowed again
        for (int i = 0; i < baseW.Length; i++) Assert.Equal(baseW[i], model.BaseWeights()[i], new FloatTolerance(1e-5f));
        var sgd = new Sgd(model.Lora.Parameters().ToList(), lr: 0.1f);
        model.Lora.Merge();
        Assert.Throws<InvalidOperationException>(sgd.Step);
        model.Lora.MergeAndUnload();
        var plain = new Sgd(model.Parameters().ToList(), lr: 0.1f);
        plain.Step();   // a merged-and-unloaded model is a plain model: trainable
    }

    private sealed class FloatTolerance(float tol) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tol * (1 + Math.Abs(a));
        public int GetHashCode(float obj) => 0;
    }
}
