using LoraGen.Ops;
using LoraGen.Tensors;

namespace LoraGen.Nn;

/// <summary>SiLU as a module.</summary>
public sealed class Silu : Module
{
    /// <summary>Applies SiLU.</summary>
    public Tensor Forward(Tensor x) => x.Silu();
}
