namespace LoraGen.Cli;

/// <summary>An error the tool reports as one line (naming the file and the key or field) and an exit code.</summary>
internal sealed class CliException(int exitCode, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>One of <see cref="ExitCodes"/>.</summary>
    public int ExitCode { get; } = exitCode;

    public static CliException Input(string message, Exception? inner = null) => new(ExitCodes.BadInput, message, inner);
}
