namespace LoraGen.SafeTensors;

/// <summary>
/// A safetensors file broke a rule of the format. Carries the rule, the file (when known) and the tensor key
/// (when the rule concerns one tensor), all of which appear in the message.
/// </summary>
public sealed class SafetensorsException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SafetensorsException(SafetensorsRule rule, string? path, string? key, string detail)
        : base($"{(path is null ? "safetensors" : path)}: {rule}{(key is null ? "" : $" (tensor '{key}')")}: {detail}")
    {
        Rule = rule;
        Path = path;
        Key = key;
    }

    /// <summary>The rule that was broken.</summary>
    public SafetensorsRule Rule { get; }

    /// <summary>The file, if the data came from one.</summary>
    public string? Path { get; }

    /// <summary>The tensor key concerned, if any.</summary>
    public string? Key { get; }
}
