namespace LoraGen.Ops;

/// <summary>Which formula <see cref="ActivationOps.Gelu"/> uses, as PyTorch's <c>approximate</c> argument.</summary>
public enum GeluApproximation
{
    /// <summary>x · Φ(x) with the exact normal CDF (erf).</summary>
    None,
    /// <summary>0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 x³))), GPT-2's form.</summary>
    Tanh,
}
