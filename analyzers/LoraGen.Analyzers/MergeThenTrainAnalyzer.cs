using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using LoraGen.Contract;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace LoraGen.Analyzers
{
    /// <summary>
    /// LORA0017: within one method, a LoRA <c>Merge()</c> followed by a training call — <c>Backward()</c> on a
    /// tensor or <c>Step()</c> on an optimizer — with no <c>Unmerge()</c> in between.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class MergeThenTrainAnalyzer : DiagnosticAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.TrainingAfterMerge);

        /// <inheritdoc />
        public override void Initialize(AnalysisContext context)
        {
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.EnableConcurrentExecution();
            context.RegisterCompilationStartAction(start =>
            {
                var controller = start.Compilation.GetTypeByMetadataName(RuntimeNames.LoraModelController);
                var layer = start.Compilation.GetTypeByMetadataName(RuntimeNames.LoraLayer);
                var tensor = start.Compilation.GetTypeByMetadataName(RuntimeNames.Tensor);
                var optimizer = start.Compilation.GetTypeByMetadataName(RuntimeNames.Optimizer);
                if (controller is null || tensor is null) return;
                start.RegisterOperationBlockStartAction(block =>
                {
                    var calls = new List<(int Position, string Kind, IInvocationOperation Call)>();
                    block.RegisterOperationAction(c =>
                    {
                        var call = (IInvocationOperation)c.Operation;
                        var m = call.TargetMethod;
                        var owner = m.ContainingType;
                        string? kind = null;
                        bool onLora = SymbolEqualityComparer.Default.Equals(owner, controller) || SymbolEqualityComparer.Default.Equals(owner, layer);
                        if (onLora && m.Name is "Merge") kind = "merge";
                        else if (onLora && m.Name is "Unmerge" or "MergeAndUnload") kind = "unmerge";
                        else if (m.Name == "Backward" && (SymbolEqualityComparer.Default.Equals(owner, tensor) || m.Parameters.FirstOrDefault()?.Type is { } t && SymbolEqualityComparer.Default.Equals(t, tensor))) kind = "train";
                        else if (m.Name == "Step" && optimizer is not null && InheritsFrom(owner, optimizer)) kind = "train";
                        if (kind is not null)
                            lock (calls) calls.Add((call.Syntax.SpanStart, kind, call));
                    }, OperationKind.Invocation);
                    block.RegisterOperationBlockEndAction(end =>
                    {
                        bool merged = false;
                        foreach (var (_, kind, call) in calls.OrderBy(c => c.Position))
                        {
                            if (kind == "merge") merged = true;
                            else if (kind == "unmerge") merged = false;
                            else if (merged)
                            {
                                end.ReportDiagnostic(Diagnostic.Create(Descriptors.TrainingAfterMerge, call.Syntax.GetLocation(), call.TargetMethod.Name + "()"));
                                merged = false;   // one warning per merge
                            }
                        }
                    });
                });
            });
        }

        private static bool InheritsFrom(INamedTypeSymbol? type, INamedTypeSymbol baseType)
        {
            for (var t = type; t is not null; t = t.BaseType)
                if (SymbolEqualityComparer.Default.Equals(t, baseType)) return true;
            return false;
        }
    }
}
