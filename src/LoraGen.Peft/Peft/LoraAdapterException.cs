namespace LoraGen.Peft;

/// <summary>
/// An adapter directory could not be loaded: wrong <c>peft_type</c>, unsupported options, or tensors that do
/// not fit the model. Names the directory and every offending key; nothing was changed.
/// </summary>
public sealed class LoraAdapterException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LoraAdapterException(string directory, string detail, IReadOnlyList<string>? missing = null,
        IReadOnlyList<string>? unexpected = null, IReadOnlyList<string>? mismatched = null, Exception? inner = null)
        : base(Format(directory, detail, missing ?? [], unexpected ?? [], mismatched ?? []), inner)
    {
        Directory = directory;
        Missing = missing ?? [];
        Unexpected = unexpected ?? [];
        Mismatched = mismatched ?? [];
    }

    /// <summary>The adapter directory.</summary>
    public string Directory { get; }

    /// <summary>Keys the model expected but the file lacks.</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>Keys in the file that match no adaptable layer.</summary>
    public IReadOnlyList<string> Unexpected { get; }

    /// <summary>Keys whose shapes do not fit, with both shapes.</summary>
    public IReadOnlyList<string> Mismatched { get; }

    private static string Format(string dir, string detail, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> mismatched)
    {
        var parts = new List<string> { $"{dir}: {detail}" };
        if (missing.Count > 0) parts.Add($"missing keys: {string.Join(", ", missing)}");
        if (unexpected.Count > 0) parts.Add($"unexpected keys: {string.Join(", ", unexpected)}");
        if (mismatched.Count > 0) parts.Add($"shape mismatches: {string.Join("; ", mismatched)}");
        return string.Join("; ", parts);
    }
}
