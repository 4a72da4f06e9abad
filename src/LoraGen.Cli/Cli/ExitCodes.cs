namespace LoraGen.Cli;

/// <summary>The exit codes of <c>loragen</c>; every error maps to one of them.</summary>
public static class ExitCodes
{
    /// <summary>Success (validate: adapter fits the base; diff: identical or within tolerance).</summary>
    public const int Ok = 0;

    /// <summary>The check ran and found a problem (validate: missing/unexpected/mismatched; diff: different).</summary>
    public const int CheckFailed = 1;

    /// <summary>The command line is wrong (unknown option, bad value).</summary>
    public const int Usage = 2;

    /// <summary>An input file is missing, unreadable or not in the expected format (names the file and key/field).</summary>
    public const int BadInput = 3;

    /// <summary>The output exists and <c>--force</c> was not given.</summary>
    public const int OutputExists = 4;

    /// <summary>A safe merge met NaN or Inf (names the key).</summary>
    public const int NotFinite = 5;

    /// <summary>A feature that is not implemented yet (for example <c>combine --method svd</c>).</summary>
    public const int NotSupported = 6;

    /// <summary>An unexpected internal error.</summary>
    public const int Internal = 70;
}
