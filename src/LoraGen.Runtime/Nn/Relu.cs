using LoraGen.Ops;
using LoraGen.Tensors;

namespace LoraGen.Nn;

/// <summary>ReLU as a module.</summary>
public sealed class Relu : Module
{
    /// <summary>Applies ReLU.</summary>
    public Tensor Forward(Tensor x) => x.Relu();
}
