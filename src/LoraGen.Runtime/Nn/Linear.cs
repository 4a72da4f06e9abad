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

    private LowPrecisionStorage? _lowp;   // the storage of Weight while the base is held in BF16 / NF4 / int8

    /// <summary>The low-precision frozen base weight the forward multiplies by, or null (fp32).</summary>
    public ILowPrecisionWeight? LowPrecisionBase => _lowp?.Weight;

    /// <summary>The format the base weight is stored and multiplied in.</summary>
    public BaseFormat BaseFormat => _lowp?.Weight switch
    {
        null => BaseFormat.Fp32,
        Nf4Weight => BaseFormat.NF4,
        Int8Weight => BaseFormat.Int8,
        _ => BaseFormat.BF16,
    };

    /// <summary>
    /// The bytes the base weight occupies now, measured from its storage: 4 per element in fp32; in BF16 / NF4 the
    /// low-precision bytes, plus a transient fp32 view while one is materialized (see <see cref="CastBase"/>).
    /// </summary>
    public long BaseWeightBytes => _lowp?.Bytes ?? 4L * Weight.Size;

    /// <summary>
    /// How many times the low-precision base was re-quantized from values written into <see cref="Weight"/> (a merge
    /// made permanent by <c>MergeAndUnload</c>, a residual initialisation, a direct write). Each one is lossy: the new
    /// values are rounded to the format again. Loading weights is not counted (that is a fresh quantization).
    /// </summary>
    public int Requantizations { get; private set; }

    /// <summary>
    /// Stores the frozen base weight in <paramref name="format"/> from now on and releases the fp32 array: the layer then
    /// holds only the low-precision bytes (BF16 0.5×, int8 ≈ 0.25×, NF4 with double quantization ≈ 0.13× of fp32), and the
    /// forward and the backward's dX = dY·W read them through the GEMM's tile hook (dequantized tile by tile, never a full
    /// copy; int8 instead multiplies on int8 dot products with the activations quantized per row, <see cref="Int8Gemm"/>).
    /// <see cref="BaseFormat.Fp32"/> dequantizes back into an fp32 array (exact: the values the GEMM used).
    /// <para>
    /// <see cref="Weight"/> keeps its identity; its storage becomes a dequantizing view (<see cref="LowPrecisionStorage"/>).
    /// Reading <see cref="Tensor.Data"/> (state dicts, Save, DoRA's norm) materializes a transient fp32 copy, and the
    /// next forward (or <see cref="CompactBase"/>) drops it again. Writing through it works like on an fp32 weight: while
    /// an adapter is merged the layer multiplies by that fp32 copy (merge and unmerge are exact on the dequantized
    /// weight); once nothing holds it any more the written values are re-quantized (lossy, counted in
    /// <see cref="Requantizations"/>). The weight must be frozen and no adapter merged. Casting a quantized base again
    /// re-quantizes its dequantized values (NF4 can move some values by one code).
    /// </para>
    /// </summary>
    public void CastBase(BaseFormat format)
    {
        if (format == BaseFormat.Fp32)
        {
            if (_lowp is null) return;
            var fp32 = _lowp.Release() ?? Dequantized(_lowp.Weight);
            _lowp = null;
            Weight.ReplaceStorage(fp32);
            return;
        }
        if (Weight.RequiresGrad)
            throw new InvalidOperationException($"{this}: only a frozen base weight can be cast to {format}; freeze it first (RequiresGrad = false).");
        if (Adapter?.IsMerged == true)
            throw new InvalidOperationException($"{this}: an adapter is merged into the weight; unmerge before casting the base to {format}.");
        Quantize(format, Weight.Data);
    }

    private void Quantize(BaseFormat format, ReadOnlySpan<float> w)
    {
        ILowPrecisionWeight q = format switch
        {
            BaseFormat.NF4 => new Nf4Weight(w, OutFeatures, InFeatures),
            BaseFormat.Int8 => new Int8Weight(w, OutFeatures, InFeatures),
            _ => new Bf16Weight(w, OutFeatures, InFeatures),
        };
        _lowp?.Release();
        _lowp = new LowPrecisionStorage(q);
        Weight.ReplaceStorage(_lowp.View);
    }

    private static float[] Dequantized(ILowPrecisionWeight w)
    {
        var a = GC.AllocateUninitializedArray<float>(w.Rows * w.Cols);
        LowPrecisionStorage.Dequantize(w, a);
        return a;
    }

    /// <summary>
    /// Drops a materialized fp32 view of a low-precision base (see <see cref="CastBase"/>): unchanged values are simply
    /// released; changed ones are re-quantized first (lossy) and counted in <see cref="Requantizations"/>. Returns true
    /// when it re-quantized. Does nothing (false) for an fp32 base, while an adapter is merged, or while W requires grad.
    /// </summary>
    public bool CompactBase()
    {
        if (_lowp is not { IsMaterialized: true } lowp || Adapter?.IsMerged == true || Weight.RequiresGrad) return false;
        if (!lowp.IsModified())
        {
            lowp.Release();
            return false;
        }
        var values = lowp.Release()!;
        Quantize(BaseFormat, values);
        Requantizations++;
        return true;
    }

    /// <summary>New base weights were loaded into <see cref="Weight"/>: they are quantized afresh (kept in fp32 if W now trains).</summary>
    internal void BaseWeightLoaded()
    {
        if (_lowp is not { IsMaterialized: true } lowp || Weight.RequiresGrad || Adapter?.IsMerged == true) return;
        Quantize(BaseFormat, lowp.Release()!);
    }

    /// <summary>x [..., in] → [..., out].</summary>
    public Tensor Forward(Tensor x)
    {
        // A low-precision base multiplies through the GEMM's tile hook; while W trains or holds a merged adapter, the
        // (materialized) fp32 view is used instead.
        ILowPrecisionWeight? lowp = null;
        if (_lowp is not null && !Weight.RequiresGrad && Adapter?.IsMerged != true)
        {
            CompactBase();
            lowp = _lowp.Weight;
        }
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
