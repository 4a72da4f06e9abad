namespace LoraGen.Tokenization;

/// <summary>A tokenizer file cannot be used: missing, of a kind LoraGen cannot read, or malformed. Names the file and the key.</summary>
public sealed class TokenizerFileException : Exception
{
    /// <summary>Creates the error.</summary>
    public TokenizerFileException(string file, string? key, string detail, Exception? inner = null)
        : base($"{file}{(key is null ? "" : $": {key}")}: {detail}", inner)
    {
        File = file;
        Key = key;
        Detail = detail;
    }

    /// <summary>The file at fault.</summary>
    public string File { get; }

    /// <summary>The JSON field or line at fault, or null.</summary>
    public string? Key { get; }

    /// <summary>What is wrong, without the file and key.</summary>
    public string Detail { get; }
}
