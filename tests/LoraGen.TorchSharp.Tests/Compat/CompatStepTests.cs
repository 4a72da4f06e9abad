using System.Diagnostics;
using System.IO.Compression;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using LoraGen.Build;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Xunit;
using static TorchSharp.torch;

namespace LoraGen.TorchSharp.Tests.Compat;

/// <summary>
/// The Debian 12 compatibility step (eng/LibTorchSharpCompat.targets + eng/LibTorchSharpCompat/MarkGlibcxxNeedWeak.cs):
/// this project's own build ran it on its output copy of libLibTorchSharp.so; these tests check that copy, the NuGet
/// cache's copy, the ELF logic, the task (idempotence, hard links, the no-op branch with libstdc++ stand-ins), and the
/// MSBuild hooks end to end in a child <c>dotnet msbuild</c>.
/// </summary>
public sealed class CompatStepTests : IDisposable
{
    private const string Version = ElfVersions.DefaultVersion;
    private const string LibraryName = "libLibTorchSharp.so";
    private readonly string _temp = Directory.CreateTempSubdirectory("loragen-compat-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private static string OutputCopy => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", LibraryName);

    /// <summary>TorchSharp's package folder in the NuGet cache (the version of the TorchSharp assembly this project runs).</summary>
    private static string PackageFolder
    {
        get
        {
            var root = typeof(CompatStepTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "NuGetPackageRoot").Value!;
            var info = typeof(Tensor).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
            return Path.Combine(root, "torchsharp", info.Split('+')[0]);
        }
    }

    private static string CacheCopy => Path.Combine(PackageFolder, "runtimes", "linux-x64", "native", LibraryName);

    private static bool SystemHasVersion => ElfVersions.FindSystemLibStdCxx() is { } lib && ElfVersions.DefinesVersion(File.ReadAllBytes(lib), Version);

    private static string Sha256(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    /// <summary>A pristine copy of the cache's library in a fresh folder of the test's own (the cache itself is never handed to the step).</summary>
    private string PristineCopy(string folder)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_temp, folder)).FullName;
        var path = Path.Combine(dir, LibraryName);
        File.Copy(CacheCopy, path);
        return path;
    }

    /// <summary>
    /// A libstdc++ stand-in made from the system's: with <paramref name="withVersion"/>, one of its version names
    /// (GLIBCXX_3.4.30) renamed to GLIBCXX_3.4.32 in place; without, GLIBCXX_3.4.32 (if present) renamed away. The
    /// names have equal length, so the ELF stays valid and only the version definitions change.
    /// </summary>
    private string LibStdCxxStandIn(bool withVersion)
    {
        var system = ElfVersions.FindSystemLibStdCxx();
        Assert.NotNull(system);
        var bytes = File.ReadAllBytes(system!);
        var (from, to) = withVersion ? ("GLIBCXX_3.4.30\0", Version + "\0") : (Version + "\0", "GLIBCXX_3.4.99\0");
        var pattern = System.Text.Encoding.ASCII.GetBytes(from);
        var replacement = System.Text.Encoding.ASCII.GetBytes(to);
        for (int i = bytes.AsSpan().IndexOf(pattern); i >= 0;)
        {
            replacement.CopyTo(bytes, i);
            int next = bytes.AsSpan(i + 1).IndexOf(pattern);
            i = next < 0 ? -1 : i + 1 + next;
        }
        Assert.Equal(withVersion, ElfVersions.DefinesVersion(bytes, Version));
        var path = Path.Combine(_temp, withVersion ? "libstdc++-with.so.6" : "libstdc++-without.so.6");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static (bool Ok, string[] Patched, List<string> Log) RunTask(string libstdcxx, params string[] files)
    {
        var engine = new RecordingEngine();
        var task = new MarkGlibcxxNeedWeak
        {
            BuildEngine = engine,
            Files = files.Select(f => (ITaskItem)new TaskItem(f)).ToArray(),
            LibStdCxxPath = libstdcxx,
        };
        bool ok = task.Execute();
        return (ok, task.PatchedFiles.Select(i => i.ItemSpec).ToArray(), engine.Messages);
    }

    [Fact]
    public void TheBuildMarkedTheOutputCopyAndTorchSharpRunsInProcess()
    {
        if (!OperatingSystem.IsLinux()) return;
        var output = File.ReadAllBytes(OutputCopy);
        var cache = File.ReadAllBytes(CacheCopy);
        var need = ElfVersions.VersionNeeds(output).Single(n => n.Name == Version);
        Assert.Equal("libstdc++.so.6", need.File);
        Assert.Equal(!SystemHasVersion, need.IsWeak);

        // The build changed nothing else: the copies differ at most in that entry's vna_flags.
        Assert.Equal(cache.Length, output.Length);
        var differing = Enumerable.Range(0, cache.Length).Where(i => cache[i] != output[i]).ToArray();
        Assert.All(differing, i => Assert.InRange(i, need.FlagsOffset, need.FlagsOffset + 1));
        Assert.Equal(need.IsWeak ? 1 : 0, differing.Length);

        // ... and libtorch loads and computes in this process.
        using var a = tensor(new float[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
        using var b = tensor(new float[] { 1, 0, 0, 1, 1, 1 }, [3, 2]);
        using var c = a.matmul(b);
        Assert.Equal(new float[] { 4, 5, 10, 11 }, c.data<float>().ToArray());
    }

    [Fact]
    public void TheNuGetCacheCopyIsByteIdenticalToThePackage()
    {
        if (!OperatingSystem.IsLinux()) return;
        var nupkg = Directory.GetFiles(PackageFolder, "*.nupkg").Single();
        using var zip = ZipFile.OpenRead(nupkg);
        var entry = zip.GetEntry($"runtimes/linux-x64/native/{LibraryName}");
        Assert.NotNull(entry);
        using var stream = entry!.Open();
        var packaged = Convert.ToHexString(SHA256.HashData(stream));
        Assert.Equal(packaged, Sha256(CacheCopy));
        Assert.False(ElfVersions.VersionNeeds(File.ReadAllBytes(CacheCopy)).Single(n => n.Name == Version).IsWeak);
    }

    [Fact]
    public void TheElfLogicFindsTheEntryAndNoRelocationBindsItsSymbols()
    {
        var elf = File.ReadAllBytes(CacheCopy);
        var needs = ElfVersions.VersionNeeds(elf);
        Assert.Contains(needs, n => n.File == "libc.so.6" && n.Name.StartsWith("GLIBC_", StringComparison.Ordinal));
        var need = needs.Single(n => n.Name == Version);
        Assert.Empty(ElfVersions.RelocatedSymbolsOfVersion(elf, need.Index));
        // A version the library really uses (its PLT binds symbols of it) is refused, and the file is left alone.
        var used = needs.First(n => n.File == "libstdc++.so.6" && ElfVersions.RelocatedSymbolsOfVersion(elf, n.Index).Count > 0);
        var copy = PristineCopy("refuse");
        Assert.Equal(MarkOutcome.Refused, ElfVersions.MarkNeedWeak(copy, used.Name, out var detail));
        Assert.Contains(used.Name, detail);
        Assert.Equal(Sha256(CacheCopy), Sha256(copy));
        // Not needed, not ELF, malformed.
        Assert.Equal(MarkOutcome.NotNeeded, ElfVersions.MarkNeedWeak(copy, "GLIBCXX_9.9.9", out _));
        var text = Path.Combine(_temp, "not-elf.so");
        File.WriteAllText(text, "INPUT(-lstdc++)");
        Assert.Equal(MarkOutcome.NotElf64, ElfVersions.MarkNeedWeak(text, Version, out _));
        var truncated = Path.Combine(_temp, "truncated.so");
        File.WriteAllBytes(truncated, elf.AsSpan(0, 4096).ToArray());
        Assert.Throws<InvalidDataException>(() => ElfVersions.MarkNeedWeak(truncated, Version, out _));
    }

    [Fact]
    public void RunningTheStepAgainChangesNothing()
    {
        if (!OperatingSystem.IsLinux()) return;
        var without = LibStdCxxStandIn(withVersion: false);
        var lib = PristineCopy("idempotent");
        var written = File.GetLastWriteTimeUtc(lib);

        var first = RunTask(without, lib);
        Assert.True(first.Ok, string.Join("\n", first.Log));
        Assert.Equal([lib], first.Patched);
        Assert.True(ElfVersions.VersionNeeds(File.ReadAllBytes(lib)).Single(n => n.Name == Version).IsWeak);
        var hash = Sha256(lib);
        Assert.NotEqual(Sha256(CacheCopy), hash);
        Assert.Equal(written, File.GetLastWriteTimeUtc(lib));   // the timestamp is kept, so incremental copies skip it

        var second = RunTask(without, lib);
        Assert.True(second.Ok);
        Assert.Empty(second.Patched);
        Assert.Equal(hash, Sha256(lib));
        Assert.Equal(written, File.GetLastWriteTimeUtc(lib));
    }

    [Fact]
    public void AHardLinkIntoTheCacheIsReplacedNotWrittenThrough()
    {
        if (!OperatingSystem.IsLinux()) return;
        var cache = PristineCopy("cache");
        var outDir = Directory.CreateDirectory(Path.Combine(_temp, "out")).FullName;
        var output = Path.Combine(outDir, LibraryName);
        Assert.Equal(0, link(cache, output));
        Assert.Equal(2, LinkCount(cache));

        var run = RunTask(LibStdCxxStandIn(withVersion: false), output);
        Assert.True(run.Ok);
        Assert.Equal([output], run.Patched);
        Assert.Equal(Sha256(CacheCopy), Sha256(cache));     // the "cache" keeps its bytes
        Assert.NotEqual(Sha256(cache), Sha256(output));
        Assert.Equal(1, LinkCount(cache));                  // the output is a file of its own now
        Assert.Equal(File.GetUnixFileMode(cache), File.GetUnixFileMode(output));
    }

    [Fact]
    public void NothingIsMarkedWhereLibStdCxxHasTheVersion()
    {
        if (!OperatingSystem.IsLinux()) return;
        var with = LibStdCxxStandIn(withVersion: true);
        var lib = PristineCopy("noop");
        var run = RunTask(with, lib);
        Assert.True(run.Ok);
        Assert.Empty(run.Patched);
        Assert.Contains(run.Log, m => m.Contains("nothing to mark", StringComparison.Ordinal));
        Assert.Equal(Sha256(CacheCopy), Sha256(lib));
    }

    [Fact]
    public void AMissingLibStdCxxGivenByPathIsAnError()
    {
        if (!OperatingSystem.IsLinux()) return;
        var lib = PristineCopy("missing");
        var run = RunTask(Path.Combine(_temp, "no-such-libstdc++.so.6"), lib);
        Assert.False(run.Ok);
        Assert.Equal(Sha256(CacheCopy), Sha256(lib));
    }

    /// <summary>
    /// The MSBuild hooks end to end: a project whose copy targets stand in for the SDK's (copying by hard link, as
    /// the SDK can) imports eng/LibTorchSharpCompat.targets; a first build marks the output and publish copies, a
    /// second changes nothing (hash and timestamp), the source keeps its bytes, and with a libstdc++ that has the
    /// version nothing is marked.
    /// </summary>
    [Fact]
    public void TheMsBuildHooksMarkBuildAndPublishCopiesOnce()
    {
        if (!OperatingSystem.IsLinux()) return;
        var cache = PristineCopy("msbuild-cache");
        var targets = Path.Combine(RepoRoot(), "eng", "LibTorchSharpCompat.targets");
        var project = Path.Combine(_temp, "app.proj");
        File.WriteAllText(project, $"""
            <Project>
              <PropertyGroup>
                <OutDir Condition="'$(OutDir)' == ''">$(MSBuildThisFileDirectory)out/</OutDir>
                <PublishDir Condition="'$(PublishDir)' == ''">$(MSBuildThisFileDirectory)publish/</PublishDir>
              </PropertyGroup>
              <ItemGroup>
                <ReferenceCopyLocalPaths Include="{cache}" DestinationSubDirectory="runtimes/linux-x64/native/" />
                <ResolvedFileToPublish Include="{cache}" RelativePath="{LibraryName}" />
              </ItemGroup>
              <Target Name="CopyFilesToOutputDirectory">
                <Copy SourceFiles="@(ReferenceCopyLocalPaths)" DestinationFiles="@(ReferenceCopyLocalPaths->'$(OutDir)%(DestinationSubDirectory)%(Filename)%(Extension)')" SkipUnchangedFiles="true" UseHardlinksIfPossible="true" />
              </Target>
              <Target Name="CopyFilesToPublishDirectory">
                <Copy SourceFiles="@(ResolvedFileToPublish)" DestinationFiles="@(ResolvedFileToPublish->'$(PublishDir)%(RelativePath)')" SkipUnchangedFiles="true" UseHardlinksIfPossible="true" />
              </Target>
              <Import Project="{targets}" />
            </Project>
            """);
        var built = Path.Combine(_temp, "out", "runtimes", "linux-x64", "native", LibraryName);
        var published = Path.Combine(_temp, "publish", LibraryName);
        var without = LibStdCxxStandIn(withVersion: false);

        var log1 = MsBuild(project, $"-p:LoraGenLibStdCxxPath={without}");
        Assert.Equal(2, CountOf(log1, $"marked {Version} weak"));
        foreach (var copy in new[] { built, published })
            Assert.True(ElfVersions.VersionNeeds(File.ReadAllBytes(copy)).Single(n => n.Name == Version).IsWeak, copy);
        var hashes = new[] { Sha256(built), Sha256(published) };
        var times = new[] { File.GetLastWriteTimeUtc(built), File.GetLastWriteTimeUtc(published) };

        var log2 = MsBuild(project, $"-p:LoraGenLibStdCxxPath={without}");
        Assert.Equal(0, CountOf(log2, $"marked {Version} weak"));
        Assert.Equal(hashes, new[] { Sha256(built), Sha256(published) });
        Assert.Equal(times, new[] { File.GetLastWriteTimeUtc(built), File.GetLastWriteTimeUtc(published) });
        Assert.Equal(Sha256(CacheCopy), Sha256(cache));

        var with = LibStdCxxStandIn(withVersion: true);
        var log3 = MsBuild(project, $"-p:LoraGenLibStdCxxPath={with}", $"-p:OutDir={_temp}/out2/", $"-p:PublishDir={_temp}/publish2/");
        Assert.Equal(0, CountOf(log3, $"marked {Version} weak"));
        Assert.Equal(Sha256(CacheCopy), Sha256(Path.Combine(_temp, "out2", "runtimes", "linux-x64", "native", LibraryName)));
        Assert.Equal(Sha256(CacheCopy), Sha256(Path.Combine(_temp, "publish2", LibraryName)));
    }

    private static int CountOf(string text, string what) =>
        text.Split('\n').Count(line => line.Contains(what, StringComparison.Ordinal));

    private static string MsBuild(string project, params string[] args)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var psi = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(project)! };
        foreach (var a in new[] { "msbuild", project, "-t:CopyFilesToOutputDirectory;CopyFilesToPublishDirectory", "-nologo", "-v:n", "-nr:false" }.Concat(args))
            psi.ArgumentList.Add(a);
        foreach (var name in new[] { "MSBUILD_EXE_PATH", "MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBuildLoadMicrosoftTargetsReadOnly" })
            psi.Environment.Remove(name);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"dotnet msbuild exited {p.ExitCode}:\n{stdout}\n{stderr.Result}");
        return stdout;
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "LoraGen.sln"))) return dir.FullName;
        throw new InvalidOperationException($"LoraGen.sln not found above {AppContext.BaseDirectory}.");
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int link(string oldpath, string newpath);

    private static long LinkCount(string path)
    {
        var psi = new ProcessStartInfo("stat", ["-c", "%h", path]) { RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return long.Parse(text.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The least of an MSBuild engine: records what the task logs.</summary>
    private sealed class RecordingEngine : IBuildEngine
    {
        public List<string> Messages { get; } = [];
        public bool ContinueOnError => false;
        public int LineNumberOfTaskNode => 0;
        public int ColumnNumberOfTaskNode => 0;
        public string ProjectFileOfTaskNode => "test";
        public bool BuildProjectFile(string projectFileName, string[] targetNames, System.Collections.IDictionary globalProperties, System.Collections.IDictionary targetOutputs) => false;
        public void LogCustomEvent(CustomBuildEventArgs e) => Messages.Add(e.Message ?? "");
        public void LogErrorEvent(BuildErrorEventArgs e) => Messages.Add("error: " + e.Message);
        public void LogMessageEvent(BuildMessageEventArgs e) => Messages.Add(e.Message ?? "");
        public void LogWarningEvent(BuildWarningEventArgs e) => Messages.Add("warning: " + e.Message);
    }
}
