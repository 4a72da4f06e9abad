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
