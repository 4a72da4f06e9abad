using System.Runtime.InteropServices;

namespace LoraGen.IO;

/// <summary>
/// Flushes a folder's entries (file creations and renames) to disk. On Linux and macOS a rename is durable only
/// once the folder itself is fsync'ed; .NET has no API for that, so this calls open/fsync/close. On Windows it
/// does nothing (NTFS journals renames).
/// </summary>
internal static partial class DirectorySync
{
    private const int EINTR = 4;

    /// <summary>fsyncs <paramref name="directory"/>; best effort where the file system cannot (EINVAL), an IOException on an I/O error.</summary>
    public static void Flush(string directory)
    {
        if (!(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD())) return;
        int fd = Open(directory, 0 /* O_RDONLY */);
        if (fd < 0) return;   // e.g. no read permission on the folder: nothing more we can do
        try
        {
            int rc;
            do { rc = FSync(fd); } while (rc != 0 && Marshal.GetLastPInvokeError() == EINTR);
            if (rc != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                // EINVAL / ENOTSUP: the file system does not support syncing folders; there is nothing to flush.
                if (errno is 5 /* EIO */ or 28 /* ENOSPC */ or 122 /* EDQUOT */)
                    throw new IOException($"fsync of folder '{directory}' failed (errno {errno}).");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
