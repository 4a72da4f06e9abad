using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Testing;

namespace LoraGen.Analyzers.Tests.Verifiers;

/// <summary>The settings every LoraGen analyzer and code-fix test shares.</summary>
internal static class LoraTestSetup
{
    /// <summary>Prepended to each test source (on its own first line, so markup spans are unaffected).</summary>
    public const string Usings = "using System; using System.Collections.Generic; using LoraGen; using LoraGen.Autograd; using LoraGen.Nn; using LoraGen.Ops; using LoraGen.Tensors; using LoraGen.Optim;\n";

    /// <summary>References (no NuGet: see <see cref="TestReferences"/>).</summary>
    public static void Configure(ProjectState state, out ReferenceAssemblies referenceAssemblies)
    {
        referenceAssemblies = TestReferences.NoPackage;
        state.AdditionalReferences.AddRange(TestReferences.All);
    }

    /// <summary>Prepended to each TorchSharp test source (the managed runtime's namespaces would clash with TorchSharp's Linear and Module).</summary>
    public const string TorchUsings = "using System; using LoraGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;\n";

    /// <summary>References for the LORA01xx tests: those of <see cref="Configure"/> plus TorchSharp's managed assembly.</summary>
    public static void ConfigureTorch(ProjectState state)
    {
        state.AdditionalReferences.Add(TestReferences.TorchSharp);
    }

    /// <summary>The newest C#, as the repository builds with LangVersion latest.</summary>
    public static ParseOptions ParseOptions { get; } = new CSharpParseOptions(LanguageVersion.Latest, DocumentationMode.Diagnose);

    /// <summary>Nullable on, as in the repository.</summary>
    public static CompilationOptions WithRepositoryDefaults(CompilationOptions options) =>
        ((CSharpCompilationOptions)options).WithNullableContextOptions(NullableContextOptions.Enable);
}
