using System.Security.Cryptography;
using LoraGen.Tensors;
using ManagedGpt = TinyGpt.Lora.Model.Gpt;
using ManagedGptConfig = TinyGpt.Lora.Model.GptConfig;

namespace LoraGen.Benchmarks.TorchSharpPeer;

/// <summary>
/// The one safetensors file of TinyGpt base weights that every side of a comparison loads (state-dict names), written
/// once by the managed sample model (seed 1) into a temporary folder that is removed on dispose.
/// </summary>
public sealed class WeightsFile : IDisposable
{
    private readonly string _dir;

    private WeightsFile(string dir, string path, string hash) => (_dir, Path, Hash) = (dir, path, hash);

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Its SHA-256, hex.</summary>
    public string Hash { get; }

    /// <summary>Writes the file, for the sample's TinyGpt or the model of <paramref name="config"/>.</summary>
    public static WeightsFile Create(ManagedGptConfig? config = null)
    {
        var dir = Directory.CreateTempSubdirectory("loragen-ts-bench-").FullName;
        var path = System.IO.Path.Combine(dir, "tinygpt-base.safetensors");
        new ManagedGpt(config ?? new ManagedGptConfig(), new Rng(1)).SaveWeights(path);
        using var stream = File.OpenRead(path);
        return new WeightsFile(dir, path, Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant());
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
