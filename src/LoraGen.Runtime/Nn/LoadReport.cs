namespace LoraGen.Nn;

/// <summary>What <see cref="Module.LoadWeights(string, bool)"/> found: keys missing from the file, keys the model does not have, and shape mismatches.</summary>
/// <param name="Path">The file read.</param>
/// <param name="Missing">Model keys absent from the file.</param>
/// <param name="Unexpected">File keys the model does not have.</param>
/// <param name="Mismatched">Keys present in both with different shapes, with both shapes.</param>
/// <param name="Loaded">How many tensors were loaded.</param>
public sealed record LoadReport(string Path, IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected, IReadOnlyList<string> Mismatched, int Loaded)
{
    /// <summary>True when every key matched in name and shape.</summary>
    public bool IsExact => Missing.Count == 0 && Unexpected.Count == 0 && Mismatched.Count == 0;

    /// <inheritdoc />
    public override string ToString()
    {
        var parts = new List<string> { $"{Path}: loaded {Loaded}" };
        if (Missing.Count > 0) parts.Add($"missing {Missing.Count}: {string.Join(", ", Missing.Take(10))}{(Missing.Count > 10 ? ", ..." : "")}");
        if (Unexpected.Count > 0) parts.Add($"unexpected {Unexpected.Count}: {string.Join(", ", Unexpected.Take(10))}{(Unexpected.Count > 10 ? ", ..." : "")}");
        if (Mismatched.Count > 0) parts.Add($"shape mismatch {Mismatched.Count}: {string.Join("; ", Mismatched.Take(10))}");
        return string.Join("; ", parts);
    }
}
