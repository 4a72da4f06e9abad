using System.Collections.Immutable;
using LoraGen.Autograd;
using LoraGen.Ops;
using LoraGen.Tensors;
using Microsoft.CodeAnalysis;

namespace LoraGen.Tests.Shared;

/// <summary>
/// Metadata references for in-memory compilations in tests: the framework's System.* assemblies plus the real
/// LoraGen runtime and abstractions. Linked into the generator and analyzer test projects.
/// </summary>
internal static class RoslynTestReferences
{
    public static readonly ImmutableArray<MetadataReference> All = Build();

    private static ImmutableArray<MetadataReference> Build()
    {
        var tpa = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        return [.. tpa.Where(p => Path.GetFileName(p) is { } f && (f.StartsWith("System.", StringComparison.Ordinal) || f is "mscorlib.dll" or "netstandard.dll"))
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)),
            MetadataReference.CreateFromFile(typeof(LoraGen.Nn.Module).Assembly.Location),
            MetadataReference.CreateFromFile(typeof(LoraGen.Peft.LayerKind).Assembly.Location),
            MetadataReference.CreateFromFile(typeof(LoraAttribute).Assembly.Location)];
    }
}
