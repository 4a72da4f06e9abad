using LoraGen.Kernels;
using LoraGen.Ops;
using LoraGen.Peft;
using LoraGen.Tensors;

namespace LoraGen.Nn;

/// <summary>
/// y = x·Wᵀ + b with W [out, in] and optional b [out], initialized as torch.nn.Linear
/// (both U(−1/√in, 1/√in)). With adapters, <see cref="Forward"/> adds Σ s·B·A·dropout(x).
/// </summary>
public sealed class Linear : Module, IAdaptableLayer
{
    /// <summary>Creates the layer.</summary>
    public Linear(int inFeatures, int outFeatures, bool bias = true, Rng? rng = null)
    {
        if (inFeatures < 1 || outFeatures < 1) throw new ArgumentException($"Linear({inFeatures}, {outFeatures}): features must be positive.");
        rng ??= Init.DefaultRng;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        float bound = 1f / MathF.Sqrt(inFeatures);
        Weight = Init.UniformParameter(rng, bound, outFeatures, inFeatures);
        Bias = bias ? Init.UniformParameter(rng, bound, outFeatures) : null;
    }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }

    /// <summary>Output features.</summary>
    public int OutFeatures { get; }

    /// <summary>W [out, in].</summary>
    public Tensor Weight { get; }

    /// <summary>b [out], or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc />
    public LayerKind Kind => LayerKind.Linear;

    /// <inheritdoc />
    public ILayerAdapter? Adapter { get; set; }

    /// <summary>The low-precision copy of the frozen base weight the forward multiplies by, or null (fp32).</summary>
    public ILowPrecisionWeight? LowPrecisionBase { get; private set; }

    /// <summary>The format the base weight is multiplied in.</summary>
    public BaseFormat BaseFormat => LowPrecisionBase switch
    {
        null => BaseFormat.Fp32,
        Nf4Weight => BaseFormat.NF4,
        _ => BaseFormat.BF16,
    };

    /// <summary>
    /// Multiplies by the frozen base weight in <paramref name="format"/> from now on. For <see cref="BaseFormat.BF16"/>
    /// W is rounded to bf16 in place (so <see cref="Weight"/>, state dicts and merges see exactly the values the GEMM
    /// uses) and a bf16 copy is kept that the GEMM widens tile by tile; <see cref="BaseFormat.Fp32"/> drops the copy.
    /// The weight must be frozen. While the weight requires grad or an adapter is merged into it, the forward uses fp32
    /// <see cref="Weight"/>; <c>LoadWeights</c> rebuilds the copy from the loaded weight. A weight changed any other way
    /// after the cast (trained, written through <see cref="Tensor.Data"/>) needs <c>CastBase</c> again.
    /// <para>
    /// <see cref="BaseFormat.NF4"/> works the same way: W is quantized (<see cref="Nf4Weight"/>) and overwritten with its
    /// dequantized values, and the GEMM reads only the NF4 bytes (≈ 0.13× fp32), dequantizing tile by tile. The fp32
    /// <see cref="Weight"/> stays allocated (state dicts, merge and unmerge use it), so the layer's own memory does not
    /// shrink yet; the NF4 storage is what the forward and backward multiply by. A merged adapter is added to the
    /// dequantized fp32 weight (exact, and the forward uses fp32 while merged); to keep a merged base in NF4, unload the
    /// adapter and cast again, which re-quantizes the merged weight (lossy: the sum is rounded to the code book again).
    /// Casting an NF4 base again re-quantizes its dequantized values, which can move some values by one code.
    /// </para>
    /// </summary>
    public void CastBase(BaseFormat format)
    {
        if (format == BaseFormat.Fp32)
        {
            LowPrecisionBase = null;
            return;
        }
        if (Weight.RequiresGrad)
            throw new InvalidOperationException($"{this}: only a frozen base weight can be cast to {format}; freeze it first (RequiresGrad = false).");
        if (Adapter?.IsMerged == true)
            throw new InvalidOperationException($"{this}: an adapter is merged into the weight; unmerge before casting the base to {format}.");
        var w = Weight.Data;
        if (format == BaseFormat.NF4)
        {
            var nf4 = new Nf4Weight(w, OutFeatures, InFeatures);
            nf4.Dequantize(w);
            LowPrecisionBase = nf4;
            return;
        }
        for (int i = 0; i < w.Length; i++) w[i] = Bf16Weight.RoundToFloat(w[i]);
        LowPrecisionBase = new Bf16Weight(w, OutFeatures, InFeatures);
    }

    /// <summary>New base weights were loaded: the low-precision copy is rebuilt from them (dropped if W now trains).</summary>
    internal void BaseWeightLoaded()
    {
        if (LowPrecisionBase is null) return;
        var format = BaseFormat;
        LowPrecisionBase = null;
        if (!Weight.RequiresGrad && Adapter?.IsMerged != true) CastBase(format);
    }

    /// <summary>x [..., in] → [..., out].</summary>
    public Tensor Forward(Tensor x)
    {
        var lowp = LowPrecisionBase is { } l && !Weight.RequiresGrad && Adapter?.IsMerged != true ? l : null;
        var y = x.Linear(Weight, Bias, lowp);
        return Adapter is null ? y : Adapter.ForwardLinear(x, y, Training);
    }

    /// <inheritdoc />
    public override IEnumerable<(string Name, Tensor Parameter)> DirectParameters()
    {
        yield return ("weight", Weight);
        if (Bias is not null) yield return ("bias", Bias);
    }

    /// <inheritdoc />
    public override IEnumerable<(string Name, Tensor Parameter)> AdapterParameters() => Adapter?.NamedParameters() ?? [];

    /// <inheritdoc />
    public override string ToString() => $"Linear(in_features={InFeatures}, out_features={OutFeatures}, bias={Bias is not null})";
}
