using LoraGen.Peft;
using LoraGen.Torch;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using ManagedTensor = LoraGen.Tensors.Tensor;

namespace LoraGen.TorchSharp.Tests.Lora;

/// <summary>The TorchSharp <c>Lora</c> facade (<see cref="TorchLoraModelController"/>): the managed facade's semantics, and the same adapter files.</summary>
[Collection(TorchGlobalRng.Name)]
public sealed class TorchLoraFacadeTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "loragen-torch-facade-" + Guid.NewGuid().ToString("N"));

    public TorchLoraFacadeTests() => torch.manual_seed(424242);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private string Dir(string name) => Path.Combine(_dir, name);

    private static (TorchPair Net, TorchLoraModelController Lora) Pair(ulong baseSeed = 7)
    {
        torch.manual_seed((long)baseSeed);
        var net = new TorchPair();
        return (net, new TorchLoraModelController(net, TorchLoraModelOptions.FromFieldsOnly));
    }

    private static Tensor Input(long seed = 11)
    {
        using var g = new Generator((ulong)seed);
        return torch.randn([3, 12], generator: g);
    }

    private static Tensor Out(nn.Module<Tensor, Tensor> net, Tensor x)
    {
        using var _ = torch.no_grad();
        return net.call(x);
    }

    private static double MaxDiff(Tensor a, Tensor b)
    {
        using var d = a.sub(b);
        using var abs = d.abs();
        using var m = abs.max();
        return m.item<float>();
    }

    /// <summary>
    /// Gives every B of the active adapter random values, as training would, from its own generator: the global one is
    /// shared with test classes running in parallel, so draws from it differ from run to run.
    /// </summary>
    private static void Train(TorchLoraModelController lora, double std = 0.3, ulong seed = 17)
    {
        using var _ = torch.no_grad();
        using var generator = new Generator(seed);
        var ps = lora.Parameters().ToList();
        for (int i = 1; i < ps.Count; i += 2) nn.init.normal_(ps[i], 0, std, generator);
    }

    [Fact]
    public void Attach_with_B_zero_leaves_outputs_unchanged_and_summarizes_like_PEFT()
    {
        var (net, lora) = Pair();
        using var x = Input();
        using var before = Out(net, x);
        lora.Attach();
        using var after = Out(net, x);
        Assert.Equal(0, MaxDiff(before, after));
        Assert.Equal(["q_proj", "v_proj"], lora.Targets().Select(t => t.Path));
        Assert.Equal("default", lora.Active);
        // base: 12·10+10 + 10·10+10 + 10·6+6 = 306; adapters: 4·12+10·4 + 2·10+6·2 = 120
        Assert.Equal("trainable params: 120 || all params: 426 || trainable%: 28.1690", lora.Summary());
        ILoraFacade facade = lora;
        Assert.Equal(["default"], facade.Names);
    }

    [Fact]
    public void Only_A_and_B_train()
    {
        var (net, lora) = Pair();
        lora.Attach();
        var trainable = net.parameters().Where(p => p.requires_grad).ToList();
        var adapter = lora.Parameters().ToList();
        Assert.Equal(4, adapter.Count);
        Assert.Equal(adapter.Count, trainable.Count);
        Assert.All(trainable, p => Assert.Contains(adapter, a => ReferenceEquals(a, p) || a.Handle == p.Handle));
        using var w0 = net.k_proj.weight!.clone();
        using var q0 = net.q_proj.weight!.clone();
        using var opt = torch.optim.SGD(lora.Parameters(), 0.1);
        for (int step = 0; step < 3; step++)
        {
            opt.zero_grad();
            using var x = Input(step);
            using var y = net.call(x);
            using var loss = y.square().mean();
            loss.backward();
            opt.step();
        }
        Assert.Equal(0, MaxDiff(w0, net.k_proj.weight!));
        Assert.Equal(0, MaxDiff(q0, net.q_proj.weight!));
        Assert.NotEqual(0, lora.Parameters().ToList()[1].abs().sum().item<float>());
    }

    [Fact]
    public void Merged_equals_unmerged_and_unmerge_restores_W()
    {
        var (net, lora) = Pair();
        lora.Attach();
        Train(lora);
        using var x = Input();
        using var w0 = net.q_proj.weight!.clone();
        using var unmerged = Out(net, x);
        lora.Merge(safe: true);
        Assert.True(lora.IsMerged);
        lora.Merge();   // no-op
        using var merged = Out(net, x);
        Assert.True(MaxDiff(unmerged, merged) <= 1e-5);
        Assert.True(MaxDiff(w0, net.q_proj.weight!) > 1e-3);
        lora.Unmerge();
        Assert.False(lora.IsMerged);
        Assert.True(MaxDiff(w0, net.q_proj.weight!) <= 1e-6);
        using var back = Out(net, x);
        Assert.True(MaxDiff(unmerged, back) <= 1e-5);
    }

    [Fact]
    public void Disable_gives_the_base_outputs_and_MergeAndUnload_leaves_a_plain_model()
    {
        var (net, lora) = Pair();
        using var x = Input();
        using var baseOut = Out(net, x);
        lora.Attach();
        Train(lora);
        using var adapted = Out(net, x);
        using (lora.Disable())
        {
            using var disabled = Out(net, x);
            Assert.Equal(0, MaxDiff(baseOut, disabled));
        }
        lora.MergeAndUnload(safe: true);
        Assert.Empty(lora.Names);
        Assert.Null(lora.Active);
        Assert.Empty(TorchLoraModules.Layers(net));
        Assert.DoesNotContain(net.state_dict().Keys, k => k.Contains("lora", StringComparison.Ordinal));
        using var plain = Out(net, x);
        Assert.True(MaxDiff(adapted, plain) <= 1e-5);
    }

    [Fact]
    public void Save_then_Load_is_exact_and_writes_the_same_bytes()
    {
        var (net, lora) = Pair();
        lora.Attach();
        Train(lora);
        using var x = Input();
        using var expected = Out(net, x);
        lora.Save(Dir("a"));

        var (net2, lora2) = Pair();   // same base weights (same seed)
        lora2.Load(Dir("a"));
        using var got = Out(net2, x);
        Assert.Equal(0, MaxDiff(expected, got));
        var p1 = lora.Parameters().ToList();
        var p2 = lora2.Parameters().ToList();
        for (int i = 0; i < p1.Count; i++) Assert.Equal(0, MaxDiff(p1[i], p2[i]));
        Assert.True(lora2.Parameters().All(p => p.requires_grad));
        Assert.False(net2.k_proj.weight!.requires_grad);

        lora2.Save(Dir("b"));
        foreach (var file in new[] { AdapterKeys.WeightsFile, AdapterKeys.ConfigFile })
            Assert.Equal(File.ReadAllBytes(Path.Combine(Dir("a"), file)), File.ReadAllBytes(Path.Combine(Dir("b"), file)));
    }

    [Fact]
    public void Load_refuses_a_misfit_by_key_and_changes_nothing()
    {
        var (net, lora) = Pair();
        lora.Attach();
        lora.Save(Dir("a"));
        var stack = new TorchStack();
        var slora = new TorchLoraModelController(stack, TorchLoraModelOptions.FromFieldsOnly);
        var e = Assert.Throws<LoraAdapterException>(() => slora.Load(Dir("a")));
        Assert.Contains(AdapterKeys.A("q_proj", LayerKind.Linear), e.Unexpected);
        Assert.Contains(AdapterKeys.A("blocks.0.q_proj", LayerKind.Linear), e.Missing);
        Assert.Empty(slora.Names);
        Assert.Empty(TorchLoraModules.Layers(stack));
        Assert.True(stack.head.weight!.requires_grad);
    }

    [Fact]
    public void Named_adapters_switch_and_delete()
    {
        var (net, lora) = Pair();
        using var x = Input();
        lora.Attach("one", seed: 1);
        Train(lora);
        using var one = Out(net, x);
        lora.Attach("two", seed: 2);
        Assert.Equal("one", lora.Active);
        lora.SetActive("two");
        Train(lora, std: 0.5);
        using var two = Out(net, x);
        Assert.True(MaxDiff(one, two) > 1e-3);
        lora.SetActive("one");
        using var oneAgain = Out(net, x);
        Assert.Equal(0, MaxDiff(one, oneAgain));
        lora.Merge();
        Assert.Throws<InvalidOperationException>(() => lora.SetActive("two"));
        lora.Unmerge();
        lora.Delete("one");
        Assert.Equal("two", lora.Active);
        Assert.Equal(["two"], lora.Names);
        using var twoAgain = Out(net, x);
        Assert.Equal(0, MaxDiff(two, twoAgain));   // Unmerge writes back the W it saved: bit for bit, whatever B holds
        Assert.Throws<KeyNotFoundException>(() => lora.SetActive("one"));
        Assert.Throws<InvalidOperationException>(() => lora.Attach("two"));
    }

    [Fact]
    public void Name_targets_reach_ModuleList_paths_with_patterns()
    {
        var stack = new TorchStack();
        var options = TorchLoraModelOptions.FromFieldsOnly with
        {
            Targets = ["head", "k_proj"],
            RankPattern = new Dictionary<string, int> { ["head"] = 3 },
        };
        var lora = new TorchLoraModelController(stack, options).Attach();
        Assert.Equal(["blocks.0.k_proj", "blocks.0.q_proj", "blocks.0.v_proj", "blocks.1.k_proj", "blocks.1.q_proj", "blocks.1.v_proj", "head"],
            lora.Targets().Select(t => t.Path).Order(StringComparer.Ordinal));
        Assert.Equal(3, lora.Targets().Single(t => t.Path == "head").Config.Rank);
        lora.Save(Dir("s"));
        using var files = AdapterDirectory.Open(Dir("s"));
        Assert.Equal(3, files.Config.RankFor("head"));
        Assert.Equal(2, files.Config.RankFor("blocks.1.v_proj"));
        Assert.True(files.Weights.Contains(AdapterKeys.B("blocks.1.k_proj", LayerKind.Linear)));
    }

    [Fact]
    public void Managed_adapter_loads_on_TorchSharp_with_equal_outputs_and_back_with_the_same_bytes()
    {
        var managed = new ManagedPair();
        managed.SaveWeights(Path.Combine(_dir + "-base.safetensors"));
        Directory.CreateDirectory(_dir);
        File.Move(_dir + "-base.safetensors", Path.Combine(_dir, "base.safetensors"));
        managed.Lora.Attach(seed: 5);
        var rng = new LoraGen.Tensors.Rng(9);
        var mparams = managed.Lora.Parameters().ToList();
        for (int i = 1; i < mparams.Count; i += 2)
            foreach (ref var v in mparams[i].Data) v = (float)(rng.NextNormal() * 0.3);
        managed.Lora.Save(Dir("managed"));

        var net = new TorchPair();
        var match = TorchSafetensors.LoadWeights(net, Path.Combine(_dir, "base.safetensors"));
        Assert.Equal(6, match.Matched.Count);
        var lora = new TorchLoraModelController(net, TorchLoraModelOptions.FromFieldsOnly);
        lora.Load(Dir("managed"));

        float[] input = [.. Enumerable.Range(0, 36).Select(i => MathF.Sin(i * 0.7f))];
        using var x = torch.tensor(input, [3, 12]);
        using var y = Out(net, x);
        var my = managed.Forward(ManagedTensor.FromArray(input, 3, 12)).ToArray();
        Assert.True(my.Zip(y.data<float>().ToArray()).Max(p => Math.Abs(p.First - p.Second)) <= 1e-5);

        // TorchSharp → files → the same bytes as the managed backend's, and the managed backend loads them.
        lora.Save(Dir("torch"));
        foreach (var file in new[] { AdapterKeys.WeightsFile, AdapterKeys.ConfigFile })
            Assert.Equal(File.ReadAllBytes(Path.Combine(Dir("managed"), file)), File.ReadAllBytes(Path.Combine(Dir("torch"), file)));
        Train(lora);
        lora.Save(Dir("torch2"));
        using var y2 = Out(net, x);
        var managed2 = new ManagedPair();
        managed2.Lora.Load(Dir("torch2"));
        var my2 = managed2.Forward(ManagedTensor.FromArray(input, 3, 12)).ToArray();
        Assert.True(my2.Zip(y2.data<float>().ToArray()).Max(p => Math.Abs(p.First - p.Second)) <= 1e-5);
    }
}
