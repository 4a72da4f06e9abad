namespace LoraGen.Hub;

/// <summary>
/// A model directory's file cannot be used: a config field missing or unsupported, a shard index naming a missing
/// shard, a tensor missing, unexpected or of the wrong shape, a dtype that cannot be read. Names the file and the key.
/// </summary>
public sealed class ModelFileException : Exception
{
    /// <summary>Creates the error for <paramref name="file"/> (and <paramref name="key"/>, when one is at fault).</summary>
    public ModelFileException(string file, string? key, string detail, Exception? inner = null)
        : base($"{file}{(key is null ? "" : $": {key}")}: {detail}", inner)
    {
        File = file;
        Key = key;
        Detail = detail;
    }

    /// <summary>The file at fault.</summary>
    public string File { get; }

    /// <summary>The JSON field or tensor key at fault, or null for the file as a whole.</summary>
    public string? Key { get; }

    /// <summary>What is wrong, without the file and key.</summary>
    public string Detail { get; }
}
