namespace LoraGen.Cli;

/// <summary>
/// An output directory or file built under a temporary sibling name and moved into place only when complete, so
/// nothing at the output path is ever half-written; an existing output is replaced only with <c>--force</c>.
/// </summary>
internal sealed class OutputTarget : IDisposable
{
    private bool _committed;

    private OutputTarget(string final, string temp, bool isDirectory)
    {
        FinalPath = final;
        TempPath = temp;
        IsDirectory = isDirectory;
    }

    public string FinalPath { get; }
    public string TempPath { get; }
    public bool IsDirectory { get; }

    public static OutputTarget Begin(string path, bool force, bool directory)
    {
        var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        if ((File.Exists(full) || Directory.Exists(full)) && !force)
            throw new CliException(ExitCodes.OutputExists, $"{path}: the output exists; pass --force to replace it.");
        var parent = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(parent);
        var temp = Path.Combine(parent, "." + Path.GetFileName(full) + ".loragen-tmp-" + Guid.NewGuid().ToString("N")[..12]);
        if (directory) Directory.CreateDirectory(temp);
        return new OutputTarget(full, temp, directory);
    }

    /// <summary>Moves the finished output into place (replacing an old one, which --force allowed).</summary>
    public void Commit()
    {
        string? old = null;
        if (File.Exists(FinalPath) || Directory.Exists(FinalPath))
        {
            old = Path.Combine(Path.GetDirectoryName(FinalPath)!, "." + Path.GetFileName(FinalPath) + ".loragen-old-" + Guid.NewGuid().ToString("N")[..12]);
            if (Directory.Exists(FinalPath)) Directory.Move(FinalPath, old);
            else File.Move(FinalPath, old);
        }
        if (IsDirectory) Directory.Move(TempPath, FinalPath);
        else File.Move(TempPath, FinalPath);
        _committed = true;
        if (old is not null)
        {
            if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
            else File.Delete(old);
        }
    }

    public void Dispose()
    {
        if (_committed) return;
        try
        {
            if (Directory.Exists(TempPath)) Directory.Delete(TempPath, recursive: true);
            else if (File.Exists(TempPath)) File.Delete(TempPath);
        }
        catch (IOException) { }
    }
}
