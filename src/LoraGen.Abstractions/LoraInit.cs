namespace LoraGen;

/// <summary>How the A matrix of a LoRA adapter is initialized (B is always zeros, so training starts from the base model).</summary>
public enum LoraInit
{
    /// <summary>A ~ kaiming_uniform(a = √5), i.e. U(−1/√in, 1/√in): PEFT's default (<c>init_lora_weights=True</c>).</summary>
    Kaiming = 0,

    /// <summary>A ~ N(0, (1/r)²): PEFT's <c>init_lora_weights="gaussian"</c>.</summary>
    Gaussian = 1,
}
