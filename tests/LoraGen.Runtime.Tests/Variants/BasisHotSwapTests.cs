using LoraGen.Lora;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests.Variants;

/// <summary>
/// <c>HotSwap</c> of VeRA and NoLA adapters: another file's vectors (and seed, projection) into the existing adapter,
/// published per layer in one snapshot; a file of another variant, rank, basis count or layer set, a non-finite value
/// or a merged adapter is refused with a <see cref="LoraAdapterException"/> naming the directory and the key/layer/field,
/// and nothing changes.
/// </summary>
public sealed class BasisHotSwapTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("loragen-basis-swap-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static LoraOverride Vera(long key = 0, int r = 4) => new() { Variant = LoraVariant.Vera, ProjectionPrngKey = key, R = r };

    private static LoraOverride Nola(long seed = 0, int k = 3) => new() { Variant = LoraVariant.Nola, ProjectionPrngKey = seed, NumBasisA = k, NumBasisB = k };

    private static readonly Tensor X = Tensor.Randn(new Rng(5), 0.5f, 2, 12);
    private static readonly Tensor XV = Tensor.Randn(new Rng(6), 0.5f, 2, 5);

    /// <summary>A TwoLayers model (the same base weights every time) with <paramref name="config"/> attached, its trainable vectors random (seeded).</summary>
    private static BasisFixtures.TwoLayers With(LoraOverride config, int valueSeed)
    {
        var model = new BasisFixtures.TwoLayers();
        model.Lora.Attach(config: config);
        var rng = new Rng((ulong)valueSeed);
        foreach (var p in model.Lora.Parameters()) Tensor.Randn(rng, 0.5f, p.Size).Data.CopyTo(p.Data);
        return model;
    }

    /// <summary>Saves a model with <paramref name="config"/> and seeded vectors; returns the directory.</summary>
    private string Saved(string name, LoraOverride config, int valueSeed, Action<BasisFixtures.TwoLayers>? edit = null)
    {
        var m = With(config, valueSeed);
        edit?.Invoke(m);
        var dir = Path.Combine(_dir, name);
        m.Lora.Save(dir);
        return dir;
    }

    private static (float[] Q, float[] V) Outputs(BasisFixtures.TwoLayers m) => (m.Q.Forward(X).ToArray(), m.V.Forward(XV).ToArray());

    /// <summary>Both layers' outputs equal bit for bit.</summary>
    private static void Same((float[] Q, float[] V) expected, (float[] Q, float[] V) actual)
    {
        Assert.Equal(expected.Q, actual.Q);
        Assert.Equal(expected.V, actual.V);
    }

    public static TheoryData<string> Variants => new() { "vera", "nola" };

    private static LoraOverride Config(string variant, long seed) => variant == "vera" ? Vera(seed) : Nola(seed);

    [Theory]
    [MemberData(nameof(Variants))]
    public void HotSwapLoadsAnotherFilesVectorsAndSeedIntoTheSameAdapter(string variant)
    {
        var model = With(Config(variant, 1), 10);
        var before = Outputs(model);
        string other = Saved("other", Config(variant, 2), 20);
        var reference = new BasisFixtures.TwoLayers();
        reference.Lora.Load(other);
        var expected = Outputs(reference);
        Assert.NotEqual(before.Q, expected.Q);

        var parametersBefore = model.Lora.Parameters().Count();
        model.Lora.HotSwap(other);
        Same(expected, Outputs(model));                    // bit for bit: the same vectors and the file's own seed
        Assert.Equal(["default"], model.Lora.Names);
        Assert.Equal(parametersBefore, model.Lora.Parameters().Count());   // still trainable, as before the swap
        Assert.All(model.Lora.Parameters(), p => Assert.True(p.RequiresGrad));

        // Saved again, the swapped adapter is the file's adapter (seed included).
        string again = Path.Combine(_dir, "again");
        model.Lora.Save(again);
        var reloaded = new BasisFixtures.TwoLayers();
        reloaded.Lora.Load(again);
        Same(expected, Outputs(reloaded));
    }

    [Fact]
    public void BadFilesAreRefusedByNameAndNothingChanges()
    {
        var model = With(Vera(1), 10);
        var before = Outputs(model);
        void Refused(string dir, params string[] needles)
        {
            var e = Assert.Throws<LoraAdapterException>(() => model.Lora.HotSwap(dir));
            Assert.Contains(dir, e.Message);
            foreach (var n in needles) Assert.Contains(n, e.Message);
            Same(before, Outputs(model));
        }
        Refused(Saved("rank2", Vera(1, r: 2), 11), "r = 2", "4 in adapter 'default'", "nothing was changed");
        Refused(Saved("nola", Nola(1), 12), "NOLA", "VERA");
        Refused(Saved("only-q", Vera(1) with { TargetModules = ["q"] }, 13), "v: adapter 'default' adapts this layer, the file has no tensors for it");
        Refused(Saved("nan", Vera(2), 14, m => m.Lora.Parameters().First().Data[0] = float.NaN), "non-finite", "vera_lambda");
        // A LoRA file into a VeRA adapter.
        var lora = new BasisFixtures.TwoLayers();
        lora.Lora.Attach();
        string loraDir = Path.Combine(_dir, "lora");
        lora.Lora.Save(loraDir);
        Refused(loraDir, "VERA", "keeps the variant");
        // A directory without an adapter.
        Refused(Path.Combine(_dir, "missing"));

        // Merged: refused until unmerged.
        string good = Saved("good", Vera(3), 15);
        model.Lora.Merge();
        var merged = Outputs(model);
        var ex = Assert.Throws<LoraAdapterException>(() => model.Lora.HotSwap(good));
        Assert.Contains("Unmerge()", ex.Message);
        Same(merged, Outputs(model));
        model.Lora.Unmerge();
        model.Lora.HotSwap(good);
        Assert.NotEqual(before.Q, Outputs(model).Q);
    }

    [Fact]
    public void A_vera_file_into_a_lora_adapter_and_other_basis_counts_are_refused()
    {
        var lora = new BasisFixtures.TwoLayers();
        lora.Lora.Attach();
        var before = Outputs(lora);
        string vera = Saved("vera", Vera(1), 10);
        var e = Assert.Throws<LoraAdapterException>(() => lora.Lora.HotSwap(vera));
        Assert.Contains("\"VERA\"", e.Message);
        Assert.Contains("LORA", e.Message);
        Same(before, Outputs(lora));

        var nola = With(Nola(1, k: 3), 10);
        var nolaBefore = Outputs(nola);
        e = Assert.Throws<LoraAdapterException>(() => nola.Lora.HotSwap(Saved("k4", Nola(1, k: 4), 11)));
        Assert.Contains("num_basis_a", e.Message);
        Same(nolaBefore, Outputs(nola));
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void AForwardOnAnotherThreadSeesTheOldOrTheNewAdapterNeverAMix(string variant)
    {
        var model = With(Config(variant, 1), 10);
        string first = Saved("first", Config(variant, 1), 10);
        string second = Saved("second", Config(variant, 2), 20);
        var yFirst = model.Q.Forward(X).ToArray();
        model.Lora.HotSwap(second);
        var ySecond = model.Q.Forward(X).ToArray();
        Assert.NotEqual(yFirst, ySecond);

        int torn = 0, passes = 0;
        using var stop = new CancellationTokenSource();
        var reader = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var y = model.Q.Forward(X).ToArray();
                if (!y.SequenceEqual(yFirst) && !y.SequenceEqual(ySecond)) Interlocked.Increment(ref torn);
                Interlocked.Increment(ref passes);
            }
        });
        reader.Start();
        for (int i = 0; i < 100; i++) model.Lora.HotSwap(i % 2 == 0 ? first : second);
        while (Volatile.Read(ref passes) < 50) Thread.Yield();
        stop.Cancel();
        reader.Join();
        Assert.Equal(0, torn);
    }
}
