using LoraGen.Peft;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraGen.Torch;

/// <summary>
/// DoRA (Liu et al. 2024, PEFT <c>use_dora=True</c>) on TorchSharp tensors, the managed backend's math: the adapted
/// weight is W' = m ⊙ (W + s·BA) / ‖W + s·BA‖, the norm taken per output feature — per row of a Linear weight
/// [out, in], per embedding dimension (a column of [num, dim]) for an Embedding — with m a trainable magnitude
/// initialised to that norm. As PEFT, the norm is a constant in backward (detached): gradients reach m, A and B through
/// m/‖·‖ and through s·BA, not through the norm.
/// </summary>
internal static class TorchDora
{
    /// <summary>
    /// ‖W + ΔW‖ per output feature, accumulated in float64 and returned in <paramref name="w"/>'s adapter dtype, without
    /// a gradient: Linear W, ΔW [out, in] → [out]; Embedding W, ΔW [num, dim] → [dim]. The caller disposes it.
    /// </summary>
    public static Tensor WeightNorm(LayerKind kind, Tensor w, Tensor delta, ScalarType dtype)
    {
        using var _ = torch.no_grad();
        using var w64 = w.detach().to(ScalarType.Float64);
        using var d64 = delta.detach().to(w64.device).to(ScalarType.Float64);
        using var sum = w64.add(d64);
        using var sq = sum.square();
        using var acc = sq.sum(kind == LayerKind.Linear ? 1 : 0);
        using var norm = acc.sqrt();
        return norm.to(dtype);
    }

    /// <summary>
    /// The Linear contribution PEFT adds to the output so far y (x̃ = dropout(x), k = m/‖W + s·BA‖, W without bias):
    /// (k − 1) ⊙ (x̃·Wᵀ) + k ⊙ s·(x̃·Aᵀ)·Bᵀ. Without dropout y + this is k ⊙ (x·W'ᵀ) + b, the merged layer.
    /// </summary>
    /// <param name="weight">W [out, in], in the adapter's dtype.</param>
    /// <param name="xd">x̃ [..., in], the adapter input after dropout.</param>
    /// <param name="ad">The adapter (A [r, in], B [out, r], m [out]).</param>
    /// <param name="y">The output so far [..., out].</param>
    public static Tensor AddLinear(Tensor weight, Tensor xd, TorchLoraAdapter ad, Tensor y)
    {
        using var scope = torch.NewDisposeScope();
        var a = ad.MatrixA;
        var b = ad.MatrixB;
        var delta = Delta(LayerKind.Linear, a, b, ad.Scaling);                 // [out, in], no grad
        var k = ad.Magnitude!.div(WeightNorm(LayerKind.Linear, weight, delta, a.dtype));   // [out]
        var baseOut = nn.functional.linear(xd, weight);                         // [..., out]
        var lora = nn.functional.linear(nn.functional.linear(xd, a), b).mul(ad.Scaling);   // [..., out]
        var result = y.add(baseOut.mul(k.sub(1))).add(lora.mul(k));
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The Embedding output PEFT computes from the output so far y [..., dim] and the LoRA rows e = s·Aᵀ[ids]·Bᵀ:
    /// k ⊙ (y + e), with k = m/‖W + s·(BA)ᵀ‖ per embedding dimension.
    /// </summary>
    public static Tensor EmbeddingOutput(Tensor weight, TorchLoraAdapter ad, Tensor y, Tensor e)
    {
        using var scope = torch.NewDisposeScope();
        var a = ad.MatrixA;
        var delta = Delta(LayerKind.Embedding, a, ad.MatrixB, ad.Scaling);    // [num, dim], no grad
        var k = ad.Magnitude!.div(WeightNorm(LayerKind.Embedding, weight, delta, a.dtype));   // [dim]
        return y.add(e).mul(k).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The merge increment of a DoRA adapter: W' − W with W' = (m/‖W + ΔW‖) ⊙ (W + ΔW), the factor applied per output
    /// row (Linear) or per embedding column (Embedding) — PEFT's merge. <paramref name="delta"/> is ΔW in W's layout.
    /// </summary>
    public static Tensor MergeIncrement(LayerKind kind, Tensor w, Tensor delta, Tensor magnitude)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var d = delta.to(w.dtype, w.device);
        var factor = magnitude.detach().to(w.dtype, w.device).div(WeightNorm(kind, w, d, w.dtype));
        factor = kind == LayerKind.Linear ? factor.unsqueeze(1) : factor.unsqueeze(0);
        return w.add(d).mul(factor).sub(w).MoveToOuterDisposeScope();
    }

    /// <summary>m at creation: ‖W + s·BA‖ per output feature, in the adapter's dtype.</summary>
    public static Tensor InitialMagnitude(LayerKind kind, Tensor w, Tensor a, Tensor b, double scaling)
    {
        using var delta = Delta(kind, a, b, scaling);
        return WeightNorm(kind, w, delta, a.dtype);
    }

    /// <summary>s·BA in the base weight's layout, without a gradient: [out, in] for a Linear, [num, dim] for an Embedding.</summary>
    public static Tensor Delta(LayerKind kind, Tensor a, Tensor b, double scaling)
    {
        using var _ = torch.no_grad();
        using var ba = b.detach().matmul(a.detach());   // [out, in] or [dim, num]
        if (kind == LayerKind.Linear) return ba.mul(scaling);
        using var t = ba.t();
        return t.mul(scaling).contiguous();
    }
}
