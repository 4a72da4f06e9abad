namespace LoraGen;

/// <summary>Which low-rank form an adapter takes (per adapter: the attribute is the compile-time default; a run-time override or a loaded file may choose another).</summary>
public enum LoraVariant
{
    /// <summary>Plain LoRA (or DoRA with <c>UseDora</c>): trainable A [r, in] and B [out, r] per layer.</summary>
    Lora = 0,

    /// <summary>
    /// VeRA (Kopiczko et al. 2024, PEFT <c>peft_type: "VERA"</c>): one pair of frozen random matrices shared by every
    /// adapted layer (sized for the largest, sliced per layer) and trainable vectors λ_b [out] (init 0) and λ_d [r]
    /// (init 0.1): ΔW = diag(λ_b)·B·diag(λ_d)·A. Every adapted layer has the same rank. Linear layers only.
    /// </summary>
    Vera = 1,

    /// <summary>
    /// NoLA (Koohpayegani et al. 2024): A = Σᵢ αᵢAᵢ and B = Σⱼ βⱼBⱼ over k frozen random bases generated from a seed;
    /// only the coefficients α [k_A] and β [k_B] train, whatever the rank and shape. LoraGen's own file format
    /// (<c>peft_type: "NOLA"</c>, docs/nola-format.md). Linear layers only.
    /// </summary>
    Nola = 2,
}
