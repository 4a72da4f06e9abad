using LoraGen.Bases;
using LoraGen.Contract;
using LoraGen.Kernels;
using LoraGen.Ops;
using LoraGen.Tensors;

namespace LoraGen.Lora;

/// <summary>
/// NoLA on one Linear layer [out, in] (Koohpayegani et al. 2024): A = Σᵢ αᵢAᵢ [r, in] and B = Σⱼ βⱼBⱼ [out, r] over
/// frozen random bases (<see cref="NolaBases"/>), y += s·(dropout(x)·Aᵀ)·Bᵀ with s = lora_alpha / r, so
/// ΔW = s·B·A. Only α [k_A] and β [k_B] train — k_A + k_B numbers per layer whatever r and the layer's shape. At creation β = 0
/// (ΔW = 0, the model is unchanged) and α ~ U(−1/√k_A, 1/√k_A).
/// </summary>
internal sealed class NolaAdapter : IBasisAdapter
{
    private readonly float _dropout;
    private readonly Rng _dropoutRng;
    private readonly int _outDim, _inDim;

    /// <summary>A NoLA adapter over the given bases ([k_A, r·in], [k_B, out·r]) and coefficients.</summary>
    public NolaAdapter(Tensor basesA, Tensor basesB, int rank, int outDim, int inDim, Tensor alpha, Tensor beta, float scaling, double dropout, Rng dropoutRng)
    {
        if (!alpha.Shape.SequenceEqual([basesA.Dim(0)])) throw new ArgumentException($"NoLA α must be [{basesA.Dim(0)}] (k_A), got {alpha.ShapeString}.");
        if (!beta.Shape.SequenceEqual([basesB.Dim(0)])) throw new ArgumentException($"NoLA β must be [{basesB.Dim(0)}] (k_B), got {beta.ShapeString}.");
        BasesA = basesA;
        BasesB = basesB;
        Rank = rank;
        _outDim = outDim;
        _inDim = inDim;
        Alpha = alpha;
        Beta = beta;
        Scaling = scaling;
        _dropout = (float)dropout;
        _dropoutRng = dropoutRng;
        Parameters = [Alpha, Beta];
    }

    /// <summary>The A bases [k_A, r·in], frozen.</summary>
    public Tensor BasesA { get; }

    /// <summary>The B bases [k_B, out·r], frozen.</summary>
    public Tensor BasesB { get; }

    /// <summary>α [k_A], trainable.</summary>
    public Tensor Alpha { get; }

    /// <summary>β [k_B], trainable, zeros at creation.</summary>
    public Tensor Beta { get; }

    /// <summary>s = lora_alpha / r.</summary>
    public float Scaling { get; }

    /// <summary>nola_dropout.</summary>
    public double Dropout => _dropout;

    /// <inheritdoc/>
    public LoraVariant Variant => LoraVariant.Nola;

    /// <inheritdoc/>
    public int Rank { get; }

    /// <inheritdoc/>
    public IReadOnlyList<Tensor> Parameters { get; }

    /// <inheritdoc/>
    public IEnumerable<Tensor> FrozenTensors => [BasesA, BasesB];

    /// <summary>
    /// A = Σᵢ αᵢAᵢ [r, in] and B = Σⱼ βⱼBⱼ [out, r], with gradient paths to α and β (the training path; without
    /// gradients, <see cref="Delta"/> takes them from the PEFT unit's <see cref="NolaFactors"/>).
    /// </summary>
    public (Tensor A, Tensor B) Factors()
    {
        var a = Alpha.Reshape(1, Alpha.Dim(0)).MatMul(BasesA).Reshape(Rank, _inDim);    // [1, k_A]·[k_A, r·in] → [r, in]
        var b = Beta.Reshape(1, Beta.Dim(0)).MatMul(BasesB).Reshape(_outDim, Rank);      // [1, k_B]·[k_B, out·r] → [out, r]
        return (a, b);
    }

    /// <inheritdoc/>
    public Tensor Contribution(Tensor x, bool training)
    {
        var (a, b) = Factors();
        var xd = x.Dropout(_dropout, _dropoutRng, training);   // [..., in]
        return xd.Linear(a).Scale(Scaling).Linear(b);            // [..., out]
    }

    /// <inheritdoc/>
    public float[] Delta()
    {
        var (a, b) = NolaFactors.Compute(BasesA.Data, BasesB.Data, Alpha.Data, Beta.Data, Rank, _inDim, _outDim);   // the PEFT unit's one copy, shared with loragen merge
        var delta = new float[_outDim * _inDim];
        Gemm.Sgemm(false, false, _outDim, _inDim, Rank, Scaling, b, Rank, a, _inDim, 0f, delta, _inDim);
        return delta;
    }

    /// <inheritdoc/>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters(string adapter)
    {
        yield return (PeftKeys.ModuleNolaAlpha(adapter), Alpha);
        yield return (PeftKeys.ModuleNolaBeta(adapter), Beta);
    }
}
