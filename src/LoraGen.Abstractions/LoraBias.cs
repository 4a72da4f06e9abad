namespace LoraGen;

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
