namespace LoraGen;

/// <summary>How the A matrix of a LoRA adapter is initialized (B is always zeros, so training starts from the base model).</summary>
public enum LoraInit
{
    /// <summary>A ~ kaiming_uniform(a = √5), i.e. U(−1/√in, 1/√in): PEFT's default (<c>init_lora_weights=True</c>).</summary>
    Kaiming = 0,

    /// <summary>A ~ N(0, (1/r)²): PEFT's <c>init_lora_weights="gaussian"</c>.</summary>
    Gaussian = 1,

    /// <summary>
    /// PiSSA (PEFT's <c>init_lora_weights="pissa"</c>): A and B from the top-r singular vectors of W (B = U_r·√(S_r/s),
    /// A = √(S_r/s)·V_rᵀ) and W replaced by the residual W − s·BA, so the model starts unchanged. Linear layers only (LORA0203);
    /// no dropout (LORA0202). Saved adapters are converted to plain LoRA relative to the original W.
    /// </summary>
    Pissa = 2,

    /// <summary>
    /// OLoRA (PEFT's <c>init_lora_weights="olora"</c>): B and A from the first r columns of Q and rows of R in the QR
    /// decomposition of W, W replaced by W − s·BA. Linear layers only. Saved adapters are converted as for PiSSA.
    /// </summary>
    Olora = 3,
}
