using LoraGen.Ops;
using LoraGen.Tensors;

namespace LoraGen.Nn;

/// <summary>GELU as a module (exact by default, tanh-approximated on request).</summary>
public sealed class Gelu(GeluApproximation approximate = GeluApproximation.None) : Module
{
    /// <summary>Applies GELU.</summary>
    public Tensor Forward(Tensor x) => x.Gelu(approximate);
}
