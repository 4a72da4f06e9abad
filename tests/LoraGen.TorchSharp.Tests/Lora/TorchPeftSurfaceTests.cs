using LoraGen.Lora;
using LoraGen.Peft;
using LoraGen.Torch;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;
using ManagedTensor = LoraGen.Tensors.Tensor;

namespace LoraGen.TorchSharp.Tests.Lora;

/// <summary>A <see cref="TorchStack"/> one level down, so its block paths have a parent (<c>inner.blocks.1.q_proj</c>), as PEFT's <c>layers_to_transform</c> needs.</summary>
internal sealed class TorchNested : nn.Module<Tensor, Tensor>
{
    public readonly TorchStack inner;

    public TorchNested() : base(nameof(TorchNested))
    {
        inner = new TorchStack();
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => inner.call(x);
}

/// <summary>
/// PEFT's layer selection on the TorchSharp backend (#19): <c>target_modules</c> as names, a regular expression or
/// <c>"all-linear"</c>, <c>exclude_modules</c>, <c>layers_to_transform</c>/<c>layers_pattern</c> through
/// <see cref="AdapterConfig.SelectLayers"/>, written back on save so the file reloads into the same layers (on either
/// backend, byte for byte the managed backend's file); and an atomic hot swap.
/// </summary>
[Collection(TorchGlobalRng.Name)]
public sealed class TorchPeftSurfaceTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "loragen-torch-surface-" + Guid.NewGuid().ToString("N"));
    private static readonly float[] Input = [.. Enumerable.Range(0, 36).Select(i => MathF.Sin(i * 0.7f))];

    public TorchPeftSurfaceTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private string Dir(string name) => Path.Combine(_dir, name);

    private (ManagedPair Managed, TorchPair Net, TorchLoraModelController Lora) Twins()
    {
        var managed = new ManagedPair();
        string path = Path.Combine(_dir, "base-" + Guid.NewGuid().ToString("N") + ".safetensors");
        managed.SaveWeights(path);
        var net = new TorchPair();
        TorchSafetensors.LoadWeights(net, path);
        return (managed, net, new TorchLoraModelController(net, TorchLoraModelOptions.FromFieldsOnly));
    }

    private static float[] ManagedOut(ManagedPair m) => m.Forward(ManagedTensor.FromArray(Input, 3, 12)).ToArray();

    private static float[] Out(nn.Module<Tensor, Tensor> net)
    {
        using var _ = torch.no_grad();
        using var x = torch.tensor(Input, [3, 12]);
        using var y = net.call(x);
        return y.data<float>().ToArray();
    }

    private static double MaxDiff(float[] a, float[] b) => a.Zip(b).Max(p => Math.Abs(p.First - p.Second));

    private static void Train(TorchLoraModelController lora, ulong seed, double std = 0.3)
    {
        using var _ = torch.no_grad();
        using var g = new Generator(seed);
        foreach (var p in lora.Parameters()) nn.init.normal_(p, 0, std, g);
    }

    private static void TrainManaged(LoraModelController lora, ulong seed)
    {
        var rng = new LoraGen.Tensors.Rng(seed);
        foreach (var p in lora.Parameters())
            foreach (ref var v in p.Data) v = (float)(rng.NextNormal() * 0.3);
    }

    private static void AssertSameFiles(string expected, string actual)
    {
        foreach (var file in new[] { AdapterKeys.WeightsFile, AdapterKeys.ConfigFile })
            Assert.Equal(File.ReadAllBytes(Path.Combine(expected, file)), File.ReadAllBytes(Path.Combine(actual, file)));
    }

    private static List<string> Adapted(nn.Module model) => [.. TorchLoraModules.Layers(model).Select(l => l.ModulePath).Order(StringComparer.Ordinal)];

    public static TheoryData<string> Selections => ["all-linear", "exclude", "regex"];

    private static LoraOverride ManagedSelection(string kind) => kind switch
    {
        "all-linear" => new LoraOverride { TargetRegex = "all-linear" },   // every Linear but the output head (v_proj)
        "exclude" => new LoraOverride { TargetModules = ["q_proj", "k_proj", "v_proj"], ExcludeModules = ["k_proj"] },
        _ => new LoraOverride { TargetRegex = @".*[kv]_proj" },
    };

    private static TorchLoraOverride TorchSelection(string kind) => kind switch
    {
        "all-linear" => new TorchLoraOverride { TargetRegex = "all-linear" },
        "exclude" => new TorchLoraOverride { TargetModules = ["q_proj", "k_proj", "v_proj"], ExcludeModules = ["k_proj"] },
        _ => new TorchLoraOverride { TargetRegex = @".*[kv]_proj" },
    };

    [Theory]
    [MemberData(nameof(Selections))]
    public void A_managed_selection_loads_on_TorchSharp_and_saves_back_byte_for_byte(string kind)
    {
        var (managed, net, lora) = Twins();
        managed.Lora.Attach(seed: 3, config: ManagedSelection(kind));
        TrainManaged(managed.Lora, 4);
        managed.Lora.Save(Dir("managed"));

        lora.Load(Dir("managed"));
        string[] expected = kind switch { "all-linear" => ["k_proj", "q_proj"], "exclude" => ["q_proj", "v_proj"], _ => ["k_proj", "v_proj"] };
        Assert.Equal(expected, Adapted(net));
        Assert.True(MaxDiff(ManagedOut(managed), Out(net)) <= 1e-5);
        lora.Save(Dir("torch"));
        AssertSameFiles(Dir("managed"), Dir("torch"));
    }

    [Theory]
    [MemberData(nameof(Selections))]
    public void A_TorchSharp_selection_saves_a_file_the_managed_backend_loads_into_the_same_layers(string kind)
    {
        var (managed, net, lora) = Twins();
        lora.Attach(seed: 3, config: TorchSelection(kind));
        Train(lora, 5);
        lora.Save(Dir("torch"));
        managed.Lora.Load(Dir("torch"));
        Assert.True(MaxDiff(ManagedOut(managed), Out(net)) <= 1e-5);
        managed.Lora.Save(Dir("managed"));
        AssertSameFiles(Dir("torch"), Dir("managed"));
    }

    [Fact]
    public void Layers_to_transform_adapts_one_block_and_reloads_into_it()
    {
        torch.manual_seed(8);
        var net = new TorchNested();
        var lora = new TorchLoraModelController(net, TorchLoraModelOptions.FromFieldsOnly);
        lora.Attach(config: new TorchLoraOverride { LayersToTransform = [1], LayersPattern = ["blocks"] });
        Assert.Equal(["inner.blocks.1.q_proj", "inner.blocks.1.v_proj"], Adapted(net));
        Train(lora, 6);
        var y = Out(net);
        lora.Save(Dir("one-block"));
        using (var files = AdapterDirectory.Open(Dir("one-block")))
        {
            Assert.NotNull(files.Config.LayersToTransform);
            Assert.Equal(["inner.blocks.1.q_proj", "inner.blocks.1.v_proj"], files.Config.SelectLayers(
                [.. TorchLoraModules.Layers(net).Select(l => (l.ModulePath, l.Layer.Kind)), ("inner.blocks.0.q_proj", LayerKind.Linear), ("inner.blocks.0.v_proj", LayerKind.Linear)]).Order(StringComparer.Ordinal));
        }
        torch.manual_seed(8);
        var twin = new TorchNested();
        var lora2 = new TorchLoraModelController(twin, TorchLoraModelOptions.FromFieldsOnly);
        lora2.Load(Dir("one-block"));
        Assert.Equal(Adapted(net), Adapted(twin));
        Assert.True(MaxDiff(y, Out(twin)) <= 1e-6);
        Assert.Throws<ArgumentException>(() => new TorchLoraModelController(new TorchNested(), TorchLoraModelOptions.FromFieldsOnly)
            .Attach(config: new TorchLoraOverride { LayersToTransform = [7], LayersPattern = ["blocks"] }));
        Assert.Throws<ArgumentException>(() => new TorchLoraModelController(new TorchNested(), TorchLoraModelOptions.FromFieldsOnly)
            .Attach(config: new TorchLoraOverride { TargetModules = ["nope"] }));
    }

    [Fact]
    public async Task Hot_swap_takes_the_files_alpha_and_is_atomic_per_layer_against_a_concurrent_forward()
    {
        torch.manual_seed(9);
        var net = new OneLinear();
        var lora = new TorchLoraModelController(net, TorchLoraModelOptions.FromFieldsOnly with { Targets = ["fc"] });
        lora.Attach();
        Train(lora, 1);
        lora.Save(Dir("a"));
        Train(lora, 2, std: 0.6);
        lora.Save(Dir("b"));
        using (var files = AdapterDirectory.Open(Dir("b")))
        {
            var entries = files.Weights.Tensors.Select(t => LoraGen.SafeTensors.SafetensorsEntry.FromFloats(t.Name, t.Shape.ToArray(), files.Weights.ReadFloats(t.Name))).ToList();
            AdapterDirectory.Save(Dir("b2"), files.Config with { LoraAlpha = files.Config.LoraAlpha * 2 }, entries);
        }
        float[] Run()
        {
            using var _ = torch.no_grad();
            using var x = torch.ones([4, 16]);
            using var y = net.call(x);
            return y.data<float>().ToArray();
        }
        lora.HotSwap(Dir("a"));
        var ya = Run();
        lora.HotSwap(Dir("b"));
        var yb = Run();
        lora.HotSwap(Dir("b2"));
        var yb2 = Run();
        Assert.True(MaxDiff(yb, yb2) > 1e-3);   // α doubled: the file's scaling, not the old one
        var torn = 0;
        using var stop = new CancellationTokenSource();
        var reader = Task.Run(() =>
        {
            int seen = 0;
            while (!stop.IsCancellationRequested || seen < 20)
            {
                var y = Run();
                if (MaxDiff(y, ya) > 1e-6 && MaxDiff(y, yb) > 1e-6) Interlocked.Increment(ref torn);
                seen++;
            }
        });
        for (int i = 0; i < 40; i++) lora.HotSwap(Dir(i % 2 == 0 ? "a" : "b"));
        stop.Cancel();
        await reader;
        Assert.Equal(0, torn);
        Assert.Equal(2, lora.Parameters().Count(p => p.requires_grad));   // the swapped-in A and B, trainable as before
    }
}
