using LoraGen.Bases;
using LoraGen.Contract;
using LoraGen.Kernels;
using LoraGen.Ops;
using LoraGen.Tensors;

namespace LoraGen.Lora;

/// <summary>
/// VeRA on one Linear layer [out, in] (Kopiczko et al. 2024; PEFT's <c>vera.Linear</c>): with the shared projection
/// sliced to this layer, A [r, in] and B [out, r] (frozen), and the trainable λ_d [r] and λ_b [out],
/// y += λ_b ⊙ ((λ_d ⊙ (dropout(x)·Aᵀ))·Bᵀ) and ΔW = diag(λ_b)·B·diag(λ_d)·A. No α/r scaling (PEFT has none).
/// Trainable numbers per layer: r + out.
/// </summary>
internal sealed class VeraAdapter : IBasisAdapter
{
    private readonly float _dropout;
    private readonly Rng _dropoutRng;

    /// <summary>A VeRA adapter over <paramref name="projection"/> for a layer [<paramref name="outDim"/>, <paramref name="inDim"/>].</summary>
    public VeraAdapter(VeraProjection projection, int outDim, int inDim, Tensor lambdaB, Tensor lambdaD, double dropout, Rng dropoutRng)
    {
        int r = projection.Rank;
        if (!lambdaB.Shape.SequenceEqual([outDim])) throw new ArgumentException($"VeRA λ_b must be [{outDim}] (the layer's outputs), got {lambdaB.ShapeString}.");
        if (!lambdaD.Shape.SequenceEqual([r])) throw new ArgumentException($"VeRA λ_d must be [{r}] (the rank), got {lambdaD.ShapeString}.");
        Projection = projection;
        A = projection.SliceA(inDim);
        B = projection.SliceB(outDim);
        LambdaB = lambdaB;
        LambdaD = lambdaD;
        _dropout = (float)dropout;
        _dropoutRng = dropoutRng;
        Parameters = [LambdaD, LambdaB];
    }

    /// <summary>The adapter's shared projection (the same object on every layer of the adapter).</summary>
    public VeraProjection Projection { get; }

    /// <summary>A[:, :in], frozen.</summary>
    public Tensor A { get; }

    /// <summary>B[:out, :], frozen.</summary>
    public Tensor B { get; }

    /// <summary>λ_b [out], trainable, zeros at creation.</summary>
    public Tensor LambdaB { get; }

    /// <summary>λ_d [r], trainable, d_initial at creation.</summary>
    public Tensor LambdaD { get; }

    /// <summary>vera_dropout.</summary>
    public double Dropout => _dropout;

    /// <inheritdoc/>
    public LoraVariant Variant => LoraVariant.Vera;

    /// <inheritdoc/>
    public int Rank => Projection.Rank;

    /// <inheritdoc/>
    public IReadOnlyList<Tensor> Parameters { get; }

    /// <inheritdoc/>
    public IEnumerable<Tensor> FrozenTensors => [Projection.A, Projection.B, A, B];

    /// <inheritdoc/>
    public Tensor Contribution(Tensor x, bool training)
    {
        var xd = x.Dropout(_dropout, _dropoutRng, training);   // [..., in]
        var h = xd.Linear(A) * LambdaD;                           // [..., r]
        return h.Linear(B) * LambdaB;                             // [..., out]
    }

    /// <inheritdoc/>
    public float[] Delta()
    {
        int r = Rank, outDim = B.Dim(0), inDim = A.Dim(1);
        var scaledB = VeraFactors.ScaledB(B.Data, LambdaB.Data, LambdaD.Data);   // diag(λ_b)·B·diag(λ_d) [out, r]
        var delta = new float[outDim * inDim];
        Gemm.Sgemm(false, false, outDim, inDim, r, 1f, scaledB, r, A.Data, inDim, 0f, delta, inDim);
        return delta;
    }

    /// <inheritdoc/>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters(string adapter)
    {
        yield return (PeftKeys.ModuleVeraLambdaB(adapter), LambdaB);
        yield return (PeftKeys.ModuleVeraLambdaD(adapter), LambdaD);
    }
}
