namespace LoraGen.Nn;

/// <summary>
/// Compile-time adapter settings that a module declares for one of its child fields (LoRA's are
/// <c>LoraGen.Lora.LoraFieldSpec</c>). The generator overrides <see cref="Module.AdapterSpecFor"/> to return them;
/// the module tree itself does not interpret them.
/// </summary>
public abstract class AdapterSpec
{
}
