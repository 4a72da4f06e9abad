using System.Collections.Immutable;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;

namespace LoraGen.Analyzers.Tests.Verifiers;

/// <summary>
/// What the in-memory test compilations reference, found offline: the net10.0 reference assemblies of the local
/// targeting pack, and the real LoraGen runtime, Peft and abstractions assemblies.
/// </summary>
/// <remarks>
/// <see cref="ReferenceAssemblies"/> of Microsoft.CodeAnalysis.Testing normally downloads a reference-assembly
/// package from NuGet. Here it names the target framework and no package, so it resolves to nothing and never
/// touches the network; the framework's assemblies come in through <c>TestState.AdditionalReferences</c> instead.
/// They are taken, in this order, from the directory the build recorded (the targeting pack this test project
/// compiled against), from <c>dotnet/packs/Microsoft.NETCore.App.Ref/&lt;version&gt;/ref/netX.Y</c> next to the
/// running runtime, or, failing both, from the running runtime's own assemblies.
/// </remarks>
internal static class TestReferences
{
    /// <summary>The framework moniker the tests compile for.</summary>
    public const string TargetFramework = "net10.0";

    /// <summary>A reference-assembly set with no package: it resolves to nothing, without NuGet.</summary>
    public static readonly ReferenceAssemblies NoPackage = new(TargetFramework);

    /// <summary>Where <see cref="Framework"/> came from (a directory, or "runtime" for the fallback).</summary>
    public static string FrameworkSource { get; private set; } = "";

    /// <summary>The framework's reference assemblies (System.Runtime, System.Collections, netstandard, …).</summary>
    public static ImmutableArray<MetadataReference> Framework { get; } = LoadFramework();

    /// <summary>The LoraGen runtime (LoraGen.Nn, LoraGen.Lora, …), Peft, and the abstractions (the attributes).</summary>
    public static ImmutableArray<MetadataReference> LoraGen { get; } =
    [
        MetadataReference.CreateFromFile(typeof(global::LoraGen.Nn.Module).Assembly.Location),
        MetadataReference.CreateFromFile(typeof(global::LoraGen.Peft.LayerKind).Assembly.Location),
        MetadataReference.CreateFromFile(typeof(global::LoraGen.LoraAttribute).Assembly.Location),
    ];

    /// <summary>
    /// TorchSharp's managed assembly, for the LORA01xx tests only (added by <see cref="LoraTestSetup.ConfigureTorch"/>):
    /// metadata, never loaded for execution, so no native libtorch is needed.
    /// </summary>
    public static MetadataReference TorchSharp { get; } = MetadataReference.CreateFromFile(Path.Combine(AppContext.BaseDirectory, "TorchSharp.dll"));

    /// <summary>Everything a test compilation needs.</summary>
    public static ImmutableArray<MetadataReference> All { get; } = Framework.AddRange(LoraGen);

    private static ImmutableArray<MetadataReference> LoadFramework()
    {
        foreach (var dir in CandidateDirectories())
        {
            if (!File.Exists(Path.Combine(dir, "System.Runtime.dll"))) continue;
            FrameworkSource = dir;
            return [.. Directory.GetFiles(dir, "*.dll").Order(StringComparer.Ordinal).Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))];
        }
        // Last resort: the implementation assemblies of the running runtime.
        FrameworkSource = "runtime";
        var tpa = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        return [.. tpa.Where(p => Path.GetFileName(p) is { } f && (f.StartsWith("System.", StringComparison.Ordinal) || f is "mscorlib.dll" or "netstandard.dll"))
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))];
    }

    private static IEnumerable<string> CandidateDirectories()
    {
        var recorded = typeof(TestReferences).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "NetCoreAppReferenceDirectory")?.Value;
        if (!string.IsNullOrEmpty(recorded)) yield return recorded;

        // <dotnet>/shared/Microsoft.NETCore.App/<version>/System.Private.CoreLib.dll -> <dotnet>/packs/Microsoft.NETCore.App.Ref/<version>/ref/netX.Y
        var runtimeDir = Path.GetDirectoryName(typeof(object).Assembly.Location);
        var dotnetRoot = runtimeDir is null ? null : Path.GetFullPath(Path.Combine(runtimeDir, "..", "..", ".."));
        var packs = dotnetRoot is null ? null : Path.Combine(dotnetRoot, "packs", "Microsoft.NETCore.App.Ref");
        if (packs is null || !Directory.Exists(packs)) yield break;
        var tfm = $"net{Environment.Version.Major}.{Environment.Version.Minor}";
        var versions = Directory.GetDirectories(packs)
            .Select(d => (Dir: d, Version: Version.TryParse(Path.GetFileName(d).Split('-')[0], out var v) ? v : null))
            .Where(x => x.Version is not null && x.Version.Major == Environment.Version.Major)
            .OrderByDescending(x => x.Version);
        foreach (var (dir, _) in versions) yield return Path.Combine(dir, "ref", tfm);
    }
}
