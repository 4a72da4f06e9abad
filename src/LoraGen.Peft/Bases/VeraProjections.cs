namespace LoraGen.Bases;

/// <summary>
/// VeRA's shared frozen projections as PEFT makes them, for both backends: <c>torch.Generator().manual_seed(seed)</c>
/// (<see cref="TorchMt19937"/>), then A [r, max_in], then B [max_out, r], each with PEFT's <c>_kaiming_init</c>
/// (U(−b, b), b = √3·√2/√fan_in, fan_in = the second dimension). Row-major float32 values; each backend wraps them in
/// its own tensors and slices per layer (A[:, :in], B[:out, :]).
/// </summary>
public static class VeraProjections
{
    /// <summary>A [<paramref name="r"/>, <paramref name="maxIn"/>] and B [<paramref name="maxOut"/>, <paramref name="r"/>], row-major.</summary>
    public static (float[] A, float[] B) Generate(long seed, int r, int maxIn, int maxOut)
    {
        if (r < 1 || maxIn < 1 || maxOut < 1) throw new ArgumentException($"VeRA projections need r, max_in and max_out ≥ 1; got r {r}, max_in {maxIn}, max_out {maxOut}.");
        var g = new TorchMt19937((ulong)seed);
        var a = g.KaimingUniform(r, maxIn);
        var b = g.KaimingUniform(maxOut, r);
        return (a, b);
    }
}
