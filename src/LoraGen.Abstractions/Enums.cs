namespace LoraGen
{
    /// <summary>How the A matrix of a LoRA adapter is initialized (B is always zeros, so training starts from the base model).</summary>
    public enum LoraInit
    {
        /// <summary>A ~ kaiming_uniform(a = √5), i.e. U(−1/√in, 1/√in): PEFT's default (<c>init_lora_weights=True</c>).</summary>
        Kaiming = 0,

        /// <summary>A ~ N(0, (1/r)²): PEFT's <c>init_lora_weights="gaussian"</c>.</summary>
        Gaussian = 1,
    }

    /// <summary>Which biases train alongside the adapters (PEFT's <c>bias</c> option).</summary>
    public enum LoraBias
    {
        /// <summary>No bias trains (<c>"none"</c>).</summary>
        None = 0,

        /// <summary>Every bias in the model trains (<c>"all"</c>).</summary>
        All = 1,

        /// <summary>Only the biases of adapted layers train (<c>"lora_only"</c>).</summary>
        LoraOnly = 2,
    }
}
