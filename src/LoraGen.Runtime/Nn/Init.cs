using LoraGen.Tensors;

namespace LoraGen.Nn;

/// <summary>Parameter initialization as PyTorch's layers do it, from a seedable default generator.</summary>
public static class Init
{
    /// <summary>The generator layers use when none is passed. Reseed with <see cref="Seed"/> for reproducible models.</summary>
    public static Rng DefaultRng { get; private set; } = new(0);

    /// <summary>Resets <see cref="DefaultRng"/>.</summary>
    public static void Seed(ulong seed) => DefaultRng = new Rng(seed);

    /// <summary>A parameter (requires grad) drawn from U(−bound, bound).</summary>
    public static Tensor UniformParameter(Rng rng, float bound, params int[] shape)
    {
        var t = Tensor.Uniform(rng, -bound, bound, shape);
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>A parameter (requires grad) drawn from N(0, std²).</summary>
    public static Tensor NormalParameter(Rng rng, float std, params int[] shape)
    {
        var t = Tensor.Randn(rng, std, shape);
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>A parameter (requires grad) filled with <paramref name="value"/>.</summary>
    public static Tensor ConstantParameter(float value, params int[] shape)
    {
        var t = Tensor.Full(value, shape);
        t.RequiresGrad = true;
        return t;
    }
}
