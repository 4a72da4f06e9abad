using LoraGen.Autograd;
using LoraGen.Tensors;
namespace LoraGen.Ops;

/// <summary>Inverted dropout with a seeded mask.</summary>
public static class DropoutOps
{
    /// <summary>
    /// Inverted dropout: in training, zeroes each element with probability <paramref name="p"/> and scales the
    /// rest by 1/(1 − p); otherwise (or when p = 0) returns <paramref name="x"/> itself.
    /// </summary>
    public static Tensor Dropout(this Tensor x, float p, Rng rng, bool training = true)
    {
        using var profile = OpProfiler.Forward("dropout");
        if (p < 0f || p >= 1f) throw new ArgumentOutOfRangeException(nameof(p), $"dropout: p must be in [0, 1), got {p}.");
        if (!training || p == 0f) return x;
        return ApplyMask(x, Mask(x.Size, p, rng));
    }

    /// <summary>An inverted-dropout mask of <paramref name="size"/> elements: 0 with probability p, else 1/(1 − p).</summary>
    internal static float[] Mask(int size, float p, Rng rng)
    {
        float keep = 1f / (1f - p);
        var mask = GC.AllocateUninitializedArray<float>(size);
        for (int i = 0; i < mask.Length; i++) mask[i] = rng.NextFloat() >= p ? keep : 0f;
        return mask;
    }

    /// <summary>y = x ⊙ mask, with the matching backward (exposed for reproducible tests).</summary>
    internal static Tensor ApplyMask(Tensor x, float[] mask)
    {
        var y = Tensor.Output(x.shape);
        System.Numerics.Tensors.TensorPrimitives.Multiply(x.Data, mask, y.Data);
        if (!GradMode.Needs(x)) return y;
        return Backprop.Record(y, "dropout", [x], g =>
        {
            var gx = x.GradZeroed();
            System.Numerics.Tensors.TensorPrimitives.FusedMultiplyAdd(g.Data, mask, gx, gx);
        });
    }
}
