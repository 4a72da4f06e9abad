namespace LoraGen.Peft;

/// <summary>
/// There is no adapter yet in a directory: neither <c>adapter_model.safetensors</c> nor <c>adapter_config.json</c>
/// (or no directory at all). Leftovers of a save that was interrupted before its commit do not count.
/// </summary>
public sealed class NoAdapterException : AdapterDirectoryException
{
    /// <summary>Creates the exception.</summary>
    public NoAdapterException(string directory)
        : base(directory, $"no adapter yet (no {AdapterKeys.WeightsFile} or {AdapterKeys.ConfigFile}).")
    {
    }
}
