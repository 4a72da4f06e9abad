using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace LoraGen.Analyzers.Tests.Verifiers;

/// <summary>Every LoraGen analyzer, and their descriptors by ID.</summary>
internal static class LoraAnalyzers
{
    /// <summary>One instance of each analyzer, as a build runs them.</summary>
    public static ImmutableArray<DiagnosticAnalyzer> All =>
        [new LoraAttributeAnalyzer(), new LoraModelAnalyzer(), new WeightMutationAnalyzer(), new MergeThenTrainAnalyzer(),
         new TorchForwardCallAnalyzer(), new TorchRegisterComponentsAnalyzer(), new TorchFieldReassignmentAnalyzer(),
         new VariantAnalyzer(), new SharedLayerAnalyzer(), new LoraPlusRatioAnalyzer(), new WeightedAdapterAnalyzer(),
         new QuantizationAnalyzer(), new BasisVariantAnalyzer()];

    /// <summary>The descriptor of rule <paramref name="id"/> (as some analyzer supports it).</summary>
    public static DiagnosticDescriptor Descriptor(string id) =>
        All.SelectMany(a => a.SupportedDiagnostics).First(d => d.Id == id);
}
