using LoraGen.Peft;
using LoraGen.Torch;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using ManagedTensor = LoraGen.Tensors.Tensor;

namespace LoraGen.TorchSharp.Tests.Lora;

/// <summary>
/// What the cross-backend test classes share: a temp folder per test, a managed <see cref="ManagedPair"/> and a
/// TorchSharp <see cref="TorchPair"/> with the same base weights (written by one, loaded by the other), one input, and
/// the comparisons (outputs, max difference, byte-identical adapter files).
/// </summary>
public abstract class TwinBackendTests : IDisposable
{
    /// <summary>The input both sides run: [3, 12].</summary>
    private protected static readonly float[] Input = [.. Enumerable.Range(0, 36).Select(i => MathF.Sin(i * 0.7f))];

    /// <summary>This test's temp folder (deleted afterwards).</summary>
    private protected string TempDir { get; }

    /// <summary>Seeds libtorch's global generator with <paramref name="seed"/> and makes a temp folder named after <paramref name="prefix"/>.</summary>
    private protected TwinBackendTests(string prefix, long seed)
    {
        TempDir = Path.Combine(Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N"));
        torch.manual_seed(seed);
        Directory.CreateDirectory(TempDir);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Directory.Exists(TempDir)) Directory.Delete(TempDir, recursive: true);
        GC.SuppressFinalize(this);
    }

    private protected string Dir(string name) => Path.Combine(TempDir, name);

    /// <summary>A managed pair and a TorchSharp pair with the same base weights.</summary>
    private protected (ManagedPair Managed, TorchPair Net, TorchLoraModelController Lora) Twins(TorchLoraModelOptions? options = null)
    {
        var managed = new ManagedPair();
        string path = Path.Combine(TempDir, "base-" + Guid.NewGuid().ToString("N") + ".safetensors");
        managed.SaveWeights(path);
        var net = new TorchPair();
        Assert.Equal(6, TorchSafetensors.LoadWeights(net, path).Matched.Count);
        return (managed, net, new TorchLoraModelController(net, options ?? TorchLoraModelOptions.FromFieldsOnly));
    }

    private protected static float[] ManagedOut(ManagedPair m) => m.Forward(ManagedTensor.FromArray(Input, 3, 12)).ToArray();

    private protected static float[] TorchOut(TorchPair net)
    {
        using var _ = torch.no_grad();
        using var x = torch.tensor(Input, [3, 12]);
        using var y = net.call(x);
        return y.data<float>().ToArray();
    }

    private protected static double MaxDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        return a.Zip(b).Max(p => Math.Abs(p.First - p.Second));
    }

    private protected static float[] Floats(Tensor t)
    {
        using var c = t.detach().contiguous();
        return c.data<float>().ToArray();
    }

    /// <summary>The adapter weights and config files of two directories are byte for byte the same.</summary>
    private protected static void AssertSameFiles(string expected, string actual)
    {
        foreach (var file in new[] { AdapterKeys.WeightsFile, AdapterKeys.ConfigFile })
            Assert.Equal(File.ReadAllBytes(Path.Combine(expected, file)), File.ReadAllBytes(Path.Combine(actual, file)));
    }
}
