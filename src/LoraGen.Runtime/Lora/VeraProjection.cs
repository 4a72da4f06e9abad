using LoraGen.Bases;
using LoraGen.Tensors;

namespace LoraGen.Lora;

/// <summary>
/// VeRA's one pair of frozen random matrices, shared by every layer of an adapter: A [r, max_in] and B [max_out, r],
/// sized for the largest adapted layer and sliced per layer (A's first <c>in</c> columns, B's first <c>out</c> rows).
/// Made as PEFT makes them — <c>torch.Generator().manual_seed(projection_prng_key)</c>, then A, then B, each with
/// PEFT's <c>_kaiming_init</c> — so an adapter saved without its projections (<c>save_projection: false</c>) loads the
/// same matrices here, on the TorchSharp backend and in PEFT (see <see cref="VeraProjections"/>).
/// </summary>
internal sealed class VeraProjection
{
    /// <summary>Wraps given matrices (e.g. a file's <c>base_model.vera_A</c>/<c>vera_B</c>).</summary>
    public VeraProjection(Tensor a, Tensor b, long seed)
    {
        if (a.Rank != 2 || b.Rank != 2 || a.Dim(0) != b.Dim(1))
            throw new ArgumentException($"VeRA projections must be A [r, max_in] and B [max_out, r]; got A {a.ShapeString}, B {b.ShapeString}.");
        A = a;
        B = b;
        Seed = seed;
    }

    /// <summary>PEFT's projections for rank <paramref name="r"/> and the largest layer [<paramref name="maxOut"/>, <paramref name="maxIn"/>].</summary>
    public static VeraProjection Generate(long seed, int r, int maxIn, int maxOut)
    {
        var (a, b) = VeraProjections.Generate(seed, r, maxIn, maxOut);   // the PEFT unit's one copy, shared with the TorchSharp backend
        return new VeraProjection(Tensor.FromArray(a, r, maxIn), Tensor.FromArray(b, maxOut, r), seed);
    }

    /// <summary>A [r, max_in], frozen.</summary>
    public Tensor A { get; }

    /// <summary>B [max_out, r], frozen.</summary>
    public Tensor B { get; }

    /// <summary>The <c>projection_prng_key</c> they came from (or were saved with).</summary>
    public long Seed { get; }

    /// <summary>r.</summary>
    public int Rank => A.Dim(0);

    /// <summary>A[:, :in] as its own [r, in] tensor (<see cref="VeraFactors.SliceA"/>).</summary>
    public Tensor SliceA(int inDim) => Tensor.FromArray(VeraFactors.SliceA(A.Data, Rank, A.Dim(1), inDim), Rank, inDim);

    /// <summary>B[:out, :] as its own [out, r] tensor (<see cref="VeraFactors.SliceB"/>).</summary>
    public Tensor SliceB(int outDim) => Tensor.FromArray(VeraFactors.SliceB(B.Data, Rank, outDim), outDim, Rank);
}
