using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.SafeTensors;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests;

/// <summary>Modules: the tree without reflection, modes, freezing, state dicts and their load reports.</summary>
public class NnTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("loragen-nn-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A hand-written module tree, the shape the generator emits.</summary>
    private sealed class Block : Module
    {
        public readonly Linear Fc = new(4, 8);
        public readonly Linear Proj = new(8, 4, bias: false);
        public readonly LayerNorm Ln = new(4);

        public override IEnumerable<(string Name, Module Module)> Children() => [("fc", Fc), ("proj", Proj), ("ln", Ln)];
    }

    private sealed class Net : Module
    {
        public readonly Embedding Wte = new(10, 4);
        public readonly Block[] H = [new(), new()];
        public readonly ModuleList<Linear> Heads = new(new Linear(4, 3), new Linear(4, 2));
        public readonly Dropout Drop = new(0.5f);

        public override IEnumerable<(string Name, Module Module)> Children()
        {
            yield return ("wte", Wte);
            for (int i = 0; i < H.Length; i++) yield return ($"h.{i}", H[i]);
            yield return ("heads", Heads);
            yield return ("drop", Drop);
        }
    }

    [Fact]
    public void NamedParametersHaveDottedPathsWithIndices()
    {
        var names = new Net().NamedParameters().Select(p => p.Name).ToList();
        Assert.Equal([
            "wte.weight",
            "h.0.fc.weight", "h.0.fc.bias", "h.0.proj.weight", "h.0.ln.weight", "h.0.ln.bias",
            "h.1.fc.weight", "h.1.fc.bias", "h.1.proj.weight", "h.1.ln.weight", "h.1.ln.bias",
            "heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias"], names);
    }

    [Fact]
    public void CountsFreezeAndModes()
    {
        var net = new Net();
        long expected = 10 * 4 + 2 * (4 * 8 + 8 + 8 * 4 + 4 + 4) + (4 * 3 + 3) + (4 * 2 + 2);
        Assert.Equal(expected, net.ParameterCount());
        net.Freeze();
        Assert.Equal(0, net.ParameterCount(trainableOnly: true));
        net.Unfreeze();
        Assert.Equal(expected, net.ParameterCount(trainableOnly: true));
        net.Eval();
        Assert.All(net.NamedModules(), m => Assert.False(m.Module.Training));
        var x = Tensor.Ones(2, 4);
        Assert.Same(x, net.Drop.Forward(x));   // dropout is the identity in eval mode
        net.Train();
        Assert.True(net.H[1].Ln.Training);
    }

    [Fact]
    public void LinearInitIsBoundedLikePyTorch()
    {
        var l = new Linear(64, 32, rng: new Rng(1));
        float bound = 1f / 8f;
        Assert.All(l.Weight.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.All(l.Bias!.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.True(l.Weight.ToArray().Max() > 0.9f * bound);
        Assert.True(l.Weight.RequiresGrad);
    }

    [Fact]
    public void SaveAndLoadWeightsRoundTrip()
    {
        Init.Seed(1);
        var a = new Net();
        Init.Seed(2);
        var b = new Net();
        var path = Path.Combine(_dir, "w.safetensors");
        a.SaveWeights(path);
        var report = b.LoadWeights(path);
        Assert.True(report.IsExact);
        Assert.Equal(15, report.Loaded);
        foreach (var ((na, pa), (nb, pb)) in a.NamedParameters().Zip(b.NamedParameters()))
        {
            Assert.Equal(na, nb);
            Assert.Equal(pa.ToArray(), pb.ToArray());
        }
        using var f = SafetensorsFile.Open(path);
        Assert.Equal("pt", f.Metadata["format"]);
    }

    [Fact]
    public void StrictLoadReportsEveryProblemByNameAndChangesNothing()
    {
        var net = new Net();
        var path = Path.Combine(_dir, "bad.safetensors");
        var state = net.StateDict().Where(kv => kv.Key != "h.1.fc.bias")
            .Select(kv => kv.Key == "wte.weight" ? KeyValuePair.Create(kv.Key, Tensor.Zeros(11, 4)) : KeyValuePair.Create(kv.Key, Tensor.Zeros(kv.Value.Shape.ToArray())))
            .Append(KeyValuePair.Create("extra.weight", Tensor.Zeros(2)));
        TensorFiles.Save(path, state);
        var before = net.H[0].Fc.Weight.ToArray();
        var ex = Assert.Throws<StateDictException>(() => net.LoadWeights(path));
        Assert.Equal(["h.1.fc.bias"], ex.Report.Missing);
        Assert.Equal(["extra.weight"], ex.Report.Unexpected);
        Assert.Equal(["wte.weight: file [11, 4], expected [10, 4]"], ex.Report.Mismatched);
        Assert.Contains("h.1.fc.bias", ex.Message);
        Assert.Equal(before, net.H[0].Fc.Weight.ToArray());

        var report = net.LoadWeights(path, strict: false);
        Assert.Equal(13, report.Loaded);   // 15 parameters − 1 missing − 1 mismatched
        Assert.All(net.H[0].Fc.Weight.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void LoadsHalfPrecisionWeights()
    {
        var net = new Net();
        var path = Path.Combine(_dir, "h.safetensors");
        TensorFiles.Save(path, net.StateDict(), dtype: SafetensorsDType.BF16);
        var other = new Net();
        other.LoadWeights(path);
        var w = net.Wte.Weight.ToArray();
        var w2 = other.Wte.Weight.ToArray();
        for (int i = 0; i < w.Length; i++) Assert.Equal(w[i], w2[i], Math.Abs(w[i]) * 0.004f + 1e-6f);
    }
}
