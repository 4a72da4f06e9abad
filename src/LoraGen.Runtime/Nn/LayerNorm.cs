using LoraGen.Ops;
using LoraGen.Tensors;

namespace LoraGen.Nn;

/// <summary>Layer normalization over the last dimension, weight 1 and bias 0 at creation (torch.nn.LayerNorm).</summary>
public sealed class LayerNorm : Module
{
    /// <summary>Creates the layer.</summary>
    public LayerNorm(int dim, float eps = 1e-5f, bool bias = true)
    {
        Eps = eps;
        Weight = Init.ConstantParameter(1f, dim);
        Bias = bias ? Init.ConstantParameter(0f, dim) : null;
    }

    /// <summary>The variance epsilon.</summary>
    public float Eps { get; }

    /// <summary>γ [dim].</summary>
    public Tensor Weight { get; }

    /// <summary>β [dim], or null.</summary>
    public Tensor? Bias { get; }

    /// <summary>x [..., dim] → same shape.</summary>
    public Tensor Forward(Tensor x) => x.LayerNorm(Weight, Bias, Eps);

    /// <inheritdoc />
    public override IEnumerable<(string Name, Tensor Parameter)> DirectParameters()
    {
        yield return ("weight", Weight);
        if (Bias is not null) yield return ("bias", Bias);
    }
}
