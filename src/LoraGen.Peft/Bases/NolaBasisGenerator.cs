using System.Text;

namespace LoraGen.Bases;

/// <summary>
/// NoLA's frozen random bases of one layer (generator <c>loragen-xoshiro128ss-v1</c>, docs/nola-format.md), for both
/// backends: the layer's <see cref="Xoshiro128"/> is seeded with <c>nola_seed XOR FNV-1a-64(UTF-8 module path)</c>; it
/// fills the k_A A bases [r, in] (row-major, one after another) with U(−1/√in, 1/√in), then the k_B B bases [out, r]
/// with U(−1/√r, 1/√r), each value <c>low + (high − low)·u</c> in float32.
/// </summary>
public static class NolaBasisGenerator
{
    /// <summary>The layer's generator seed: <paramref name="seed"/> XOR the FNV-1a-64 hash of the path's UTF-8 bytes.</summary>
    public static ulong LayerSeed(long seed, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        ulong h = 14695981039346656037UL;
        foreach (byte b in Encoding.UTF8.GetBytes(path)) h = (h ^ b) * 1099511628211UL;
        return (ulong)seed ^ h;
    }

    /// <summary>The bases of the layer at <paramref name="path"/>: A bases [k_A·r·in] and B bases [k_B·out·r], row-major.</summary>
    public static (float[] A, float[] B) Generate(long seed, string path, int numA, int numB, int r, int inDim, int outDim)
    {
        if (numA < 1 || numB < 1 || r < 1 || inDim < 1 || outDim < 1)
            throw new ArgumentException($"NoLA bases need k_A, k_B, r, in and out ≥ 1; got {numA}, {numB}, {r}, {inDim}, {outDim}.");
        var rng = new Xoshiro128(LayerSeed(seed, path));
        var a = new float[checked(numA * r * inDim)];
        var b = new float[checked(numB * outDim * r)];
        float ba = 1f / MathF.Sqrt(inDim), bb = 1f / MathF.Sqrt(r);
        rng.FillUniform(a, -ba, ba);
        rng.FillUniform(b, -bb, bb);
        return (a, b);
    }
}
