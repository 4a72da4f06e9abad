using System.Text;
using LoraGen.Tensors;

namespace LoraGen.Lora;

/// <summary>
/// NoLA's frozen random bases for one layer, reproducible on every machine (generator
/// <c>loragen-xoshiro128ss-v1</c>, docs/nola-format.md): the layer's generator is the runtime's <see cref="Rng"/>
/// (xoshiro128** seeded through SplitMix64) seeded with <c>nola_seed XOR FNV-1a-64(UTF-8 module path)</c>; it fills
/// the k_A A bases [r, in] (row-major, one after another) with U(−1/√in, 1/√in), then the k_B B bases [out, r] with
/// U(−1/√r, 1/√r), each value <c>low + (high − low)·u</c> with u = (next32 &gt;&gt; 8)·2⁻²⁴ in float arithmetic.
/// </summary>
internal static class NolaBases
{
    /// <summary>The layer's generator seed: <paramref name="seed"/> XOR the FNV-1a-64 hash of the path's UTF-8 bytes.</summary>
    public static ulong LayerSeed(long seed, string path)
    {
        ulong h = 14695981039346656037UL;
        foreach (byte b in Encoding.UTF8.GetBytes(path)) h = (h ^ b) * 1099511628211UL;
        return (ulong)seed ^ h;
    }

    /// <summary>The bases of the layer at <paramref name="path"/>: A bases [k_A, r·in] and B bases [k_B, out·r].</summary>
    public static (Tensor A, Tensor B) Generate(long seed, string path, int numA, int numB, int r, int inDim, int outDim)
    {
        var rng = new Rng(LayerSeed(seed, path));
        var a = new float[numA * r * inDim];
        var b = new float[numB * outDim * r];
        float ba = 1f / MathF.Sqrt(inDim), bb = 1f / MathF.Sqrt(r);
        rng.FillUniform(a, -ba, ba);
        rng.FillUniform(b, -bb, bb);
        return (Tensor.FromArray(a, numA, r * inDim), Tensor.FromArray(b, numB, outDim * r));
    }
}
