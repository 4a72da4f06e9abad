using LoraGen.Bases;
using LoraGen.Tensors;

namespace LoraGen.Lora;

/// <summary>
/// NoLA's frozen random bases for one layer as runtime tensors: the values come from the PEFT unit's
/// <see cref="NolaBasisGenerator"/> (generator <c>loragen-xoshiro128ss-v1</c>, docs/nola-format.md), the one copy the
/// TorchSharp backend uses too.
/// </summary>
internal static class NolaBases
{
    /// <summary>The layer's generator seed (<see cref="NolaBasisGenerator.LayerSeed"/>).</summary>
    public static ulong LayerSeed(long seed, string path) => NolaBasisGenerator.LayerSeed(seed, path);

    /// <summary>The bases of the layer at <paramref name="path"/>: A bases [k_A, r·in] and B bases [k_B, out·r].</summary>
    public static (Tensor A, Tensor B) Generate(long seed, string path, int numA, int numB, int r, int inDim, int outDim)
    {
        var (a, b) = NolaBasisGenerator.Generate(seed, path, numA, numB, r, inDim, outDim);
        return (Tensor.FromArray(a, numA, r * inDim), Tensor.FromArray(b, numB, outDim * r));
    }
}
