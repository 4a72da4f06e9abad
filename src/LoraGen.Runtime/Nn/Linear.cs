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

    /// <summary>x [..., in] → [..., out].</summary>
    public Tensor Forward(Tensor x)
    {
        var y = x.Linear(Weight, Bias);
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
