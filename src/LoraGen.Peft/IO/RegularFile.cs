namespace LoraGen.IO;

/// <summary>
/// Opening files that may be reached through symbolic links (the Hugging Face cache stores every file that way) or
/// may not be files at all (a pipe, <c>/dev/zero</c>): sizes are the final target's, and nothing that reports no
/// size is opened, so a FIFO cannot hang a reader and a device cannot feed it forever.
/// </summary>
internal static class RegularFile
{
    /// <summary>
    /// The size of the file <paramref name="path"/> names, following symbolic links to their final target. Throws
    /// <see cref="FileNotFoundException"/> for a missing file or a dangling link. Pipes and devices report 0.
    /// </summary>
    public static long Length(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null)
            info = info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo
                   ?? throw new FileNotFoundException($"{path}: the symbolic link cannot be resolved.", path);
        if (!info.Exists)
            throw new FileNotFoundException(Directory.Exists(info.FullName) ? $"{path} is a directory, not a file." : $"{path} does not exist.", path);
        return info.Length;
    }

    /// <summary>Opens <paramref name="path"/> (through links) for reading, shared with readers and deleters.</summary>
    public static FileStream OpenRead(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 1, FileOptions.None);

    /// <summary>
    /// Reads the whole of a small file, at most <paramref name="limit"/> bytes; <paramref name="tooLarge"/> and
    /// <paramref name="notAFile"/> make the caller's typed error. A size of 0 is refused without opening the file: it
    /// is either empty or not a regular file (a pipe would block, a device never ends).
    /// </summary>
    public static byte[] ReadAllBytes(string path, long limit, Func<long, Exception> tooLarge, Func<Exception> notAFile)
    {
        long length = Length(path);
        if (length == 0) throw notAFile();
        if (length > limit) throw tooLarge(length);
        using var stream = OpenRead(path);
        var buffer = new byte[length];
        int read = 0;
        while (read < buffer.Length)
        {
            int n = stream.Read(buffer, read, buffer.Length - read);
            if (n == 0) break;
            read += n;
        }
        if (read < buffer.Length) Array.Resize(ref buffer, read);   // shrank while we read: take what is there
        else if (stream.ReadByte() >= 0) throw tooLarge(stream.Length);   // grew past the size we checked
        return buffer;
    }
}
