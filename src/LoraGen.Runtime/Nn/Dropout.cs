using LoraGen.Autograd;
using LoraGen.Ops;
using LoraGen.Tensors;

namespace LoraGen.Nn;

/// <summary>Inverted dropout, active only in training mode.</summary>
public sealed class Dropout(float p, Rng? rng = null) : Module
{
    private readonly Rng _rng = rng ?? new Rng(Init.DefaultRng.NextUInt());

    /// <summary>The drop probability.</summary>
    public float P { get; } = p >= 0 && p < 1 ? p : throw new ArgumentOutOfRangeException(nameof(p), $"Dropout: p must be in [0, 1), got {p}.");

    /// <summary>Applies dropout when <see cref="Module.Training"/>.</summary>
    public Tensor Forward(Tensor x) => x.Dropout(P, _rng, Training);
}

/// <summary>GELU as a module (exact by default, tanh-approximated on request).</summary>
public sealed class Gelu(GeluApproximation approximate = GeluApproximation.None) : Module
{
    /// <summary>Applies GELU.</summary>
    public Tensor Forward(Tensor x) => x.Gelu(approximate);
}

/// <summary>ReLU as a module.</summary>
public sealed class Relu : Module
{
    /// <summary>Applies ReLU.</summary>
    public Tensor Forward(Tensor x) => x.Relu();
}

/// <summary>SiLU as a module.</summary>
public sealed class Silu : Module
{
    /// <summary>Applies SiLU.</summary>
    public Tensor Forward(Tensor x) => x.Silu();
}
