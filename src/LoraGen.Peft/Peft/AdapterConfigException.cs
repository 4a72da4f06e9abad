namespace LoraGen.Peft;

/// <summary>
/// An <c>adapter_config.json</c> (or an <see cref="AdapterConfig"/> about to be written) is not a valid LoRA config:
/// not JSON, a field of the wrong type, or a value out of range. The message names the file and the field.
/// </summary>
public sealed class AdapterConfigException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The file (or other source) the config came from; null for a config built in code.</param>
    /// <param name="field">The JSON field concerned; null when the problem is the whole document.</param>
    /// <param name="detail">What is wrong.</param>
    public AdapterConfigException(string? path, string? field, string detail)
        : base($"{path ?? "adapter config"}: {(field is null ? "" : $"field \"{field}\" ")}{detail}")
    {
        Path = path;
        Field = field;
    }

    /// <summary>The file the config came from, or null for a config built in code.</summary>
    public string? Path { get; }

    /// <summary>The JSON field concerned, or null when the problem is the whole document.</summary>
    public string? Field { get; }
}
