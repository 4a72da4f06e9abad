using System.Globalization;
using ManagedGptConfig = TinyGpt.Lora.Model.GptConfig;

namespace LoraGen.Benchmarks.TorchSharpPeer;

/// <summary>
/// The sizes a TinyGpt comparison runs at (vocab 96 and 4 layers always): model width, heads, context and batch. Passed
/// to child processes as <c>--shape d,heads,t,batch</c>.
/// </summary>
public sealed record BenchShape(int Dim, int Heads, int Context, int Batch)
{
    /// <summary>The samples' TinyGpt: d 256, 4 heads, T 128, batch 16.</summary>
    public static BenchShape TinyGpt { get; } = new(256, 4, 128, 16);

    /// <summary>The managed sample model's config at this shape.</summary>
    public ManagedGptConfig ManagedConfig => new(Dim: Dim, Heads: Heads, Context: Context);

    /// <summary>The TorchSharp peer's config at this shape, with LoRA rank <paramref name="rank"/> (0: none).</summary>
    public PeerConfig PeerConfig(int rank) => new(Dim: Dim, Heads: Heads, Context: Context, Rank: rank);

    /// <summary>The <c>--shape</c> argument.</summary>
    public string Argument => string.Create(CultureInfo.InvariantCulture, $"--shape {Dim},{Heads},{Context},{Batch}");

    /// <summary>Reads <c>--shape d,heads,t,batch</c> from <paramref name="args"/>; null when absent.</summary>
    public static BenchShape? Parse(string[] args)
    {
        int i = Array.IndexOf(args, "--shape");
        if (i < 0) return null;
        var parts = i + 1 < args.Length ? args[i + 1].Split(',') : [];
        if (parts.Length != 4 || !parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0))
            throw new ArgumentException($"--shape wants d,heads,t,batch (four positive integers), got '{(i + 1 < args.Length ? args[i + 1] : "")}'.");
        var n = parts.Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        if (n[0] % n[1] != 0) throw new ArgumentException($"--shape: {n[1]} heads do not divide d {n[0]}.");
        return new BenchShape(n[0], n[1], n[2], n[3]);
    }
}
