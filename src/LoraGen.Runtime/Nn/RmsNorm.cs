using LoraGen.Ops;
using LoraGen.Tensors;

namespace LoraGen.Nn;

/// <summary>RMS normalization over the last dimension, weight 1 at creation.</summary>
public sealed class RmsNorm : Module
{
    /// <summary>Creates the layer.</summary>
    public RmsNorm(int dim, float eps = 1e-6f)
    {
        Eps = eps;
        Weight = Init.ConstantParameter(1f, dim);
    }

    /// <summary>The epsilon inside the square root.</summary>
    public float Eps { get; }

    /// <summary>γ [dim].</summary>
    public Tensor Weight { get; }

    /// <summary>x [..., dim] → same shape.</summary>
    public Tensor Forward(Tensor x) => x.RmsNorm(Weight, Eps);

    /// <inheritdoc />
    public override IEnumerable<(string Name, Tensor Parameter)> DirectParameters()
    {
        yield return ("weight", Weight);
    }
}
