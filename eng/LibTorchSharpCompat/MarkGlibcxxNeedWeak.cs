// The Debian 12 compatibility step for TorchSharp's native library (see LibTorchSharpCompat.targets beside this
// folder, and "Debian 12: the GLIBCXX_3.4.32 workaround" in the README).
//
// MSBuild compiles this file with RoslynCodeTaskFactory against netstandard 2.0, so it sticks to that API surface.
// The test project tests/LoraGen.TorchSharp.Tests compiles the same file to test the ELF logic and the task directly.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace LoraGen.Build
{
    /// <summary>
    /// Marks the version-needed entry of <see cref="Version"/> weak (VER_FLG_WEAK in the entry's <c>vna_flags</c> in
    /// <c>.gnu.version_r</c>) in the given copies of libLibTorchSharp.so, so that the dynamic loader accepts a
    /// libstdc++ without that version (Debian 12 has GLIBCXX_3.4.30). A no-op where the system libstdc++ defines the
    /// version, on files already marked, and on files that do not need it. A file is replaced by a patched copy
    /// (copy, patch, rename), never written in place, so a hard link into the NuGet cache stays untouched.
    /// </summary>
    public sealed class MarkGlibcxxNeedWeak : Microsoft.Build.Utilities.Task
    {
        /// <summary>The output copies of the native library to mark.</summary>
        [Required]
        public ITaskItem[] Files { get; set; } = new ITaskItem[0];

        /// <summary>The version to mark weak.</summary>
        public string Version { get; set; } = ElfVersions.DefaultVersion;

        /// <summary>The libstdc++ whose version definitions decide the no-op; empty: search the system's library folders.</summary>
        public string LibStdCxxPath { get; set; } = "";

        /// <summary>The files this run changed.</summary>
        [Output]
        public ITaskItem[] PatchedFiles { get; private set; } = new ITaskItem[0];

        /// <inheritdoc />
        public override bool Execute()
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
            {
                Log.LogMessage(MessageImportance.Low, "LoraGen: not Linux, no libstdc++ version to mark.");
                return true;
            }

            string? libstdcxx = LibStdCxxPath.Length > 0 ? LibStdCxxPath : ElfVersions.FindSystemLibStdCxx();
            if (libstdcxx is null)
            {
                Log.LogMessage(MessageImportance.Normal, "LoraGen: no system libstdc++.so.6 found; marking {0} weak anyway (harmless where it exists).", Version);
            }
            else if (!File.Exists(libstdcxx))
            {
                Log.LogError("LoraGen: the libstdc++ '{0}' does not exist.", libstdcxx);
                return false;
            }
            else
            {
                try
                {
                    if (ElfVersions.DefinesVersion(File.ReadAllBytes(libstdcxx), Version))
                    {
                        Log.LogMessage(MessageImportance.Low, "LoraGen: {0} defines {1}; nothing to mark.", libstdcxx, Version);
                        return true;
                    }
                }
                catch (InvalidDataException e)
                {
                    Log.LogError("LoraGen: cannot read the version definitions of '{0}': {1}", libstdcxx, e.Message);
                    return false;
                }
            }

            var patched = new List<ITaskItem>();
            foreach (var item in Files)
            {
                string path = item.GetMetadata("FullPath");
                if (path.Length == 0) path = Path.GetFullPath(item.ItemSpec);
                if (!File.Exists(path))
                {
                    Log.LogMessage(MessageImportance.Low, "LoraGen: {0} does not exist; skipped.", path);
                    continue;
                }
                MarkOutcome outcome;
                string detail;
                try
                {
                    outcome = ElfVersions.MarkNeedWeak(path, Version, out detail);
                }
                catch (InvalidDataException e)
                {
                    Log.LogError("LoraGen: cannot mark {0} weak in '{1}': {2}", Version, path, e.Message);
                    return false;
                }
                switch (outcome)
                {
                    case MarkOutcome.Patched:
                        Log.LogMessage(MessageImportance.High, "LoraGen: marked {0} weak in {1} ({2}).", Version, path, detail);
                        patched.Add(new TaskItem(path));
                        break;
                    case MarkOutcome.Refused:
                        Log.LogWarning("LoraGen: left {0} unmarked in {1}: {2}", Version, path, detail);
                        break;
                    default:
                        Log.LogMessage(MessageImportance.Low, "LoraGen: {0}: {1}", path, detail);
                        break;
                }
            }
            PatchedFiles = patched.ToArray();
            return !Log.HasLoggedErrors;
        }
    }

    /// <summary>What <see cref="ElfVersions.MarkNeedWeak"/> did.</summary>
    public enum MarkOutcome
    {
        /// <summary>The entry was marked weak (the file was replaced by a patched copy).</summary>
        Patched,

        /// <summary>The entry was already weak; the file was not touched.</summary>
        AlreadyWeak,

        /// <summary>The file does not need the version; not touched.</summary>
        NotNeeded,

        /// <summary>Not a little-endian ELF64 file; not touched.</summary>
        NotElf64,

        /// <summary>A relocation binds a symbol of that version, so marking it weak would only move the failure; not touched.</summary>
        Refused,
    }

    /// <summary>One <c>Elf64_Vernaux</c> entry of <c>.gnu.version_r</c>.</summary>
    public readonly struct VersionNeed
    {
        /// <summary>Creates the entry.</summary>
        public VersionNeed(string file, string name, ushort flags, ushort index, long flagsOffset)
        {
            File = file;
            Name = name;
            Flags = flags;
            Index = index;
            FlagsOffset = flagsOffset;
        }

        /// <summary>The library that must provide the version (<c>vn_file</c>).</summary>
        public string File { get; }

        /// <summary>The version name (<c>vna_name</c>).</summary>
        public string Name { get; }

        /// <summary><c>vna_flags</c>.</summary>
        public ushort Flags { get; }

        /// <summary><c>vna_other</c>: the version index that <c>.gnu.version</c> uses for this version.</summary>
        public ushort Index { get; }

        /// <summary>The file offset of <c>vna_flags</c>.</summary>
        public long FlagsOffset { get; }

        /// <summary>True when VER_FLG_WEAK is set.</summary>
        public bool IsWeak => (Flags & ElfVersions.VerFlgWeak) != 0;
    }

    /// <summary>
    /// Just enough of ELF64 (little-endian) to read symbol versioning: the section headers, the version needs
    /// (<c>SHT_GNU_verneed</c>) and definitions (<c>SHT_GNU_verdef</c>) with their string tables, and which dynamic
    /// symbols of a version some relocation binds. Every offset is bounds-checked; a malformed file throws
    /// <see cref="InvalidDataException"/>.
    /// </summary>
    public static class ElfVersions
    {
        /// <summary>The version libLibTorchSharp.so (TorchSharp 0.107) needs but Debian 12's libstdc++ lacks.</summary>
        public const string DefaultVersion = "GLIBCXX_3.4.32";

        /// <summary>VER_FLG_WEAK.</summary>
        public const ushort VerFlgWeak = 0x2;

        private const uint ShtRela = 4, ShtRel = 9, ShtDynsym = 11;
        private const uint ShtGnuVerdef = 0x6ffffffd, ShtGnuVerneed = 0x6ffffffe, ShtGnuVersym = 0x6fffffff;

        private sealed class Section
        {
            public uint Type;
            public long Offset, Size, EntSize;
            public int Link;
            public uint Info;
        }

        /// <summary>Where distributions keep libstdc++.so.6, most specific first.</summary>
        public static readonly string[] SystemLibraryFolders =
        {
            "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib/aarch64-linux-gnu",
            "/usr/lib64", "/lib64", "/usr/lib", "/lib",
        };

        /// <summary>The first libstdc++.so.6 in <see cref="SystemLibraryFolders"/>, or null.</summary>
        public static string? FindSystemLibStdCxx()
        {
            foreach (var dir in SystemLibraryFolders)
            {
                var path = Path.Combine(dir, "libstdc++.so.6");
                if (File.Exists(path)) return path;
            }
            return null;
        }

        /// <summary>True when the bytes start like a little-endian ELF64 file.</summary>
        public static bool IsElf64(byte[] elf) =>
            elf.Length >= 64 && elf[0] == 0x7f && elf[1] == (byte)'E' && elf[2] == (byte)'L' && elf[3] == (byte)'F' && elf[4] == 2 && elf[5] == 1;

        /// <summary>True when the library's version definitions (<c>.gnu.version_d</c>) include <paramref name="version"/>.</summary>
        public static bool DefinesVersion(byte[] elf, string version)
        {
            foreach (var name in VersionDefinitions(elf))
                if (name == version) return true;
            return false;
        }

        /// <summary>The names of the versions the library defines (the first <c>Verdaux</c> of each <c>Verdef</c>).</summary>
        public static List<string> VersionDefinitions(byte[] elf)
        {
            var sections = ReadSections(elf);
            var names = new List<string>();
            foreach (var sec in sections)
            {
                if (sec.Type != ShtGnuVerdef) continue;
                var strtab = LinkedSection(sections, sec, "version definitions");
                long off = sec.Offset, end = sec.Offset + sec.Size;
                for (uint i = 0; i < sec.Info; i++)
                {
                    Need(off, 20, end, "Elf64_Verdef");
                    ushort cnt = U16(elf, off + 6);
                    uint aux = U32(elf, off + 12), next = U32(elf, off + 16);
                    if (cnt > 0)
                    {
                        Need(off + aux, 8, end, "Elf64_Verdaux");
                        names.Add(ReadString(elf, strtab, U32(elf, off + aux)));
                    }
                    if (next == 0) break;
                    off += next;
                }
            }
            return names;
        }

        /// <summary>Every version-needed entry (<c>Elf64_Vernaux</c>) of the library, following the <c>vn_next</c>/<c>vna_next</c> chains.</summary>
        public static List<VersionNeed> VersionNeeds(byte[] elf) => VersionNeeds(elf, ReadSections(elf));

        private static List<VersionNeed> VersionNeeds(byte[] elf, List<Section> sections)
        {
            var needs = new List<VersionNeed>();
            foreach (var sec in sections)
            {
                if (sec.Type != ShtGnuVerneed) continue;
                var strtab = LinkedSection(sections, sec, "version needs");
                long off = sec.Offset, end = sec.Offset + sec.Size;
                for (uint i = 0; i < sec.Info; i++)
                {
                    Need(off, 16, end, "Elf64_Verneed");
                    ushort cnt = U16(elf, off + 2);
                    string file = ReadString(elf, strtab, U32(elf, off + 4));
                    uint aux = U32(elf, off + 8), next = U32(elf, off + 12);
                    long a = off + aux;
                    for (int j = 0; j < cnt; j++)
                    {
                        Need(a, 16, end, "Elf64_Vernaux");
                        ushort flags = U16(elf, a + 4), other = U16(elf, a + 6);
                        string name = ReadString(elf, strtab, U32(elf, a + 8));
                        needs.Add(new VersionNeed(file, name, flags, other, a + 4));
                        uint anext = U32(elf, a + 12);
                        if (anext == 0) break;
                        a += anext;
                    }
                    if (next == 0) break;
                    off += next;
                }
            }
            return needs;
        }

        /// <summary>
        /// The dynamic symbols bound to version index <paramref name="index"/> (by <c>.gnu.version</c>) that some
        /// REL/RELA section relocates against. Marking a version weak is only sound when this is empty.
        /// </summary>
        public static List<string> RelocatedSymbolsOfVersion(byte[] elf, ushort index) => RelocatedSymbolsOfVersion(elf, ReadSections(elf), index);

        private static List<string> RelocatedSymbolsOfVersion(byte[] elf, List<Section> sections, ushort index)
        {
            var result = new List<string>();
            for (int d = 0; d < sections.Count; d++)
            {
                var dynsym = sections[d];
                if (dynsym.Type != ShtDynsym) continue;
                var strtab = LinkedSection(sections, dynsym, "dynamic symbols");
                Section? versym = null;
                foreach (var s in sections) if (s.Type == ShtGnuVersym && s.Link == d) versym = s;
                if (versym is null) continue;
                long symCount = dynsym.Size / 24;
                Need(versym.Offset, symCount * 2, versym.Offset + versym.Size, ".gnu.version");
                var seen = new HashSet<long>();
                foreach (var rel in sections)
                {
                    if ((rel.Type != ShtRela && rel.Type != ShtRel) || rel.Link != d) continue;
                    long entSize = rel.EntSize != 0 ? rel.EntSize : rel.Type == ShtRela ? 24 : 16;
                    if (entSize < 16) throw new InvalidDataException($"relocation entries of {entSize} bytes.");
                    for (long r = rel.Offset; r + entSize <= rel.Offset + rel.Size; r += entSize)
                    {
                        Need(r, 16, rel.Offset + rel.Size, "relocation");
                        long sym = (long)(U64(elf, r + 8) >> 32);
                        if (sym == 0 || sym >= symCount || !seen.Add(sym)) continue;
                        if ((U16(elf, versym.Offset + sym * 2) & 0x7fff) != index) continue;
                        Need(dynsym.Offset + sym * 24, 24, dynsym.Offset + dynsym.Size, "Elf64_Sym");
                        result.Add(ReadString(elf, strtab, U32(elf, dynsym.Offset + sym * 24)));
                    }
                }
            }
            return result;
        }

        /// <summary>
        /// Marks every version-needed entry named <paramref name="version"/> of the library at <paramref name="path"/>
        /// weak. The file is only written when something changes, and then as a new file: the library is copied next to
        /// itself, the copy patched, and the copy renamed over the original (so a hard link to the original, e.g. into
        /// the NuGet cache, keeps the old bytes).
        /// </summary>
        public static MarkOutcome MarkNeedWeak(string path, string version, out string detail)
        {
            byte[] elf = File.ReadAllBytes(path);
            if (!IsElf64(elf))
            {
                detail = "not a little-endian ELF64 file";
                return MarkOutcome.NotElf64;
            }
            var sections = ReadSections(elf);
            var targets = new List<VersionNeed>();
            foreach (var need in VersionNeeds(elf, sections))
                if (need.Name == version && !need.IsWeak) targets.Add(need);
            if (targets.Count == 0)
            {
                bool needed = VersionNeeds(elf, sections).Exists(n => n.Name == version);
                detail = needed ? version + " is already weak" : "does not need " + version;
                return needed ? MarkOutcome.AlreadyWeak : MarkOutcome.NotNeeded;
            }
            foreach (var need in targets)
            {
                var relocated = RelocatedSymbolsOfVersion(elf, sections, need.Index);
                if (relocated.Count > 0)
                {
                    detail = $"relocations bind {string.Join(", ", relocated)}@{version}, so the library really needs it";
                    return MarkOutcome.Refused;
                }
            }

            string temp = path + ".loragen-" + Guid.NewGuid().ToString("N") + ".tmp";
            DateTime written = File.GetLastWriteTimeUtc(path);
            try
            {
                File.Copy(path, temp);   // a new inode with the original's permissions
                using (var fs = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
                {
                    foreach (var need in targets)
                    {
                        ushort flags = (ushort)(need.Flags | VerFlgWeak);
                        fs.Position = need.FlagsOffset;
                        fs.WriteByte((byte)flags);
                        fs.WriteByte((byte)(flags >> 8));
                    }
                }
                // Keep the copy's timestamp (MSBuild's copy gave it the package file's): an incremental build then sees
                // the output as up to date and does not copy the unmarked library over it again.
                File.SetLastWriteTimeUtc(temp, written);
                File.Replace(temp, path, null);   // rename(2) over the original
            }
            finally
            {
                if (File.Exists(temp)) File.Delete(temp);
            }
            var parts = new List<string>();
            foreach (var need in targets) parts.Add($"{need.File} version index {need.Index}, vna_flags at 0x{need.FlagsOffset:x}");
            detail = string.Join("; ", parts);
            return MarkOutcome.Patched;
        }

        private static List<Section> ReadSections(byte[] elf)
        {
            if (!IsElf64(elf)) throw new InvalidDataException("not a little-endian ELF64 file.");
            long shoff = (long)U64(elf, 0x28);
            int shentsize = U16(elf, 0x3a);
            long shnum = U16(elf, 0x3c);
            if (shoff == 0) throw new InvalidDataException("no section header table.");
            if (shentsize < 64) throw new InvalidDataException($"section headers of {shentsize} bytes.");
            if (shnum == 0)
            {
                Need(shoff, 64, elf.Length, "section header 0");
                shnum = (long)U64(elf, shoff + 32);   // SHN_UNDEF's sh_size holds the real count past 0xff00 sections
            }
            Need(shoff, shnum * shentsize, elf.Length, "section header table");
            var sections = new List<Section>((int)shnum);
            for (long i = 0; i < shnum; i++)
            {
                long h = shoff + i * shentsize;
                var s = new Section
                {
                    Type = U32(elf, h + 4),
                    Offset = (long)U64(elf, h + 24),
                    Size = (long)U64(elf, h + 32),
                    Link = (int)U32(elf, h + 40),
                    Info = U32(elf, h + 44),
                    EntSize = (long)U64(elf, h + 56),
                };
                if (s.Type != 8 /* SHT_NOBITS */ && s.Type != 0) Need(s.Offset, s.Size, elf.Length, "section " + i);
                sections.Add(s);
            }
            return sections;
        }

        private static Section LinkedSection(List<Section> sections, Section sec, string what)
        {
            if (sec.Link <= 0 || sec.Link >= sections.Count) throw new InvalidDataException($"the {what} section links to section {sec.Link}.");
            return sections[sec.Link];
        }

        private static string ReadString(byte[] elf, Section strtab, uint offset)
        {
            if (offset >= strtab.Size) throw new InvalidDataException($"string offset {offset} outside a string table of {strtab.Size} bytes.");
            long start = strtab.Offset + offset, end = strtab.Offset + strtab.Size;
            long stop = start;
            while (stop < end && elf[stop] != 0) stop++;
            if (stop == end) throw new InvalidDataException("unterminated string.");
            return Encoding.UTF8.GetString(elf, (int)start, (int)(stop - start));
        }

        private static void Need(long offset, long length, long end, string what)
        {
            if (offset < 0 || length < 0 || offset > end || length > end - offset)
                throw new InvalidDataException($"{what} at 0x{offset:x} (+{length}) runs past 0x{end:x}.");
        }

        private static ushort U16(byte[] b, long o)
        {
            Need(o, 2, b.Length, "u16");
            return (ushort)(b[o] | b[o + 1] << 8);
        }

        private static uint U32(byte[] b, long o)
        {
            Need(o, 4, b.Length, "u32");
            return (uint)(b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24);
        }

        private static ulong U64(byte[] b, long o) => U32(b, o) | (ulong)U32(b, o + 4) << 32;
    }
}
