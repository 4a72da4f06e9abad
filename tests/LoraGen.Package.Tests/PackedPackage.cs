using System.Diagnostics;
using System.IO.Compression;
using System.Reflection;

namespace LoraGen.Package.Tests;

/// <summary>
/// Packs <c>src/LoraGen.Runtime</c> (the "LoraGen" package), and any further projects under src/ named (e.g.
/// LoraGen.TorchSharp), once per fixture into a temporary folder feed, all under one unique prerelease version (so no
/// copy in the NuGet cache can shadow it), and removes that version from the cache afterwards.
/// </summary>
public sealed class PackedPackage : IDisposable
{
    private readonly string[] _ids;

    public PackedPackage(params string[] moreProjects)
    {
        RepoRoot = FindRepoRoot();
        Root = Directory.CreateTempSubdirectory("loragen-pkg-").FullName;
        Feed = Directory.CreateDirectory(Path.Combine(Root, "feed")).FullName;
        Version = $"0.0.0-pkgtest.{Guid.NewGuid():N}"[..24];
        var configuration = typeof(PackedPackage).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var (code, output) = Dotnet(RepoRoot, TimeSpan.FromMinutes(4),
            "pack", Path.Combine(RepoRoot, "src", "LoraGen.Runtime", "LoraGen.Runtime.csproj"), "--no-build", "-c", configuration,
            "-o", Feed, $"-p:PackageVersion={Version}", "-nodeReuse:false");
        if (code != 0) throw new InvalidOperationException($"dotnet pack failed ({code}):\n{output}");
        foreach (var project in moreProjects)
        {
            (code, output) = Dotnet(RepoRoot, TimeSpan.FromMinutes(4),
                "pack", Path.Combine(RepoRoot, "src", project, project + ".csproj"), "--no-build", "-c", configuration,
                "-o", Feed, $"-p:PackageVersion={Version}", "-nodeReuse:false");
            if (code != 0) throw new InvalidOperationException($"dotnet pack {project} failed ({code}):\n{output}");
        }
        _ids = ["LoraGen", .. moreProjects];
        Nupkg = Path.Combine(Feed, $"LoraGen.{Version}.nupkg");
        Snupkg = Path.Combine(Feed, $"LoraGen.{Version}.snupkg");
    }

    public string RepoRoot { get; }
    public string Root { get; }
    public string Feed { get; }
    public string Version { get; }
    public string Nupkg { get; }
    public string Snupkg { get; }

    /// <summary>The .nupkg of package <paramref name="id"/> in the feed.</summary>
    public string NupkgOf(string id) => Path.Combine(Feed, $"{id}.{Version}.nupkg");

    /// <summary>The file names inside the .nupkg (of "LoraGen", or of <paramref name="nupkg"/>).</summary>
    public IReadOnlyList<string> Entries(string? nupkg = null)
    {
        using var zip = ZipFile.OpenRead(nupkg ?? Nupkg);
        return [.. zip.Entries.Select(e => e.FullName)];
    }

    /// <summary>One file of the .nupkg (of "LoraGen", or of <paramref name="nupkg"/>) as text.</summary>
    public string ReadEntry(string name, string? nupkg = null)
    {
        using var zip = ZipFile.OpenRead(nupkg ?? Nupkg);
        using var reader = new StreamReader(zip.GetEntry(name)!.Open());
        return reader.ReadToEnd();
    }

    /// <summary>
    /// Writes a fresh console project <paramref name="projectName"/> into <paramref name="subdirectory"/> of this
    /// package's temp root: the given package references, <paramref name="program"/> as Program.cs, a nuget.config that
    /// puts this package's feed first, and empty Directory.* files so the repo's build settings stay out. Returns its folder.
    /// </summary>
    public string WriteConsumer(string subdirectory, string projectName, string packageReferences, string program)
    {
        var dir = Directory.CreateDirectory(Path.Combine(Root, subdirectory)).FullName;
        File.WriteAllText(Path.Combine(dir, projectName + ".csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
            {packageReferences}
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(dir, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="loragen-test-feed" value="{Feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(dir, "Program.cs"), program);
        File.WriteAllText(Path.Combine(dir, "Directory.Build.props"), "<Project />");
        File.WriteAllText(Path.Combine(dir, "Directory.Build.targets"), "<Project />");
        File.WriteAllText(Path.Combine(dir, "Directory.Packages.props"), "<Project />");
        return dir;
    }

    /// <summary>Runs <c>dotnet</c> with <paramref name="args"/> in <paramref name="dir"/>: exit code and all output.</summary>
    public static (int Code, string Output) Dotnet(string dir, TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // The test host's MSBuild settings must not leak into a child build of another project.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
            psi.Environment.Remove(key);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["NO_COLOR"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', args)} ran longer than {timeout}:\n{stdout.Result}{stderr.Result}");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "LoraGen.sln"))) return dir.FullName;
        throw new InvalidOperationException("LoraGen.sln not found above " + AppContext.BaseDirectory);
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } env
            ? env : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in _ids)
        {
            var cached = Path.Combine(packages, id.ToLowerInvariant(), Version);
            try { if (Directory.Exists(cached)) Directory.Delete(cached, recursive: true); } catch (IOException) { }
        }
    }
}
