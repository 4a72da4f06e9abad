using System.Collections.Immutable;
using LoraGen.Contract;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace LoraGen.Analyzers
{
    /// <summary>
    /// LORA0014: user code writes the base weight of a <c>[Lora]</c> layer (<c>q_proj.Weight.Data[i] = …</c>,
    /// <c>q_proj.Weight.CopyFrom(…)</c>, <c>q_proj.Weight.Data.Fill(…)</c>, …) although adapters may be merged into it.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class WeightMutationAnalyzer : DiagnosticAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.WeightMutated);

        /// <inheritdoc />
        public override void Initialize(AnalysisContext context)
        {
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.EnableConcurrentExecution();
            context.RegisterCompilationStartAction(start =>
            {
                var lora = start.Compilation.GetTypeByMetadataName(RuntimeNames.LoraAttribute);
                if (lora is null) return;
                start.RegisterOperationAction(c =>
                {
                    var target = c.Operation switch
                    {
                        IAssignmentOperation a => a.Target,
                        IIncrementOrDecrementOperation i => i.Target,
                        _ => null,
                    };
                    if (target is not null && WeightOf(target, lora) is { } field) Report(c, field);
                }, OperationKind.SimpleAssignment, OperationKind.CompoundAssignment, OperationKind.Increment, OperationKind.Decrement);
                start.RegisterOperationAction(c =>
                {
                    var call = (IInvocationOperation)c.Operation;
                    var name = call.TargetMethod.Name;
                    // Mutating calls on the weight tensor or its data span.
                    if (call.Instance is not null && name is "CopyFrom" or "Fill" or "Clear" && WeightOf(call.Instance, lora) is { } f) Report(c, f);
                    // span.CopyTo(weight.Data) / TryCopyTo(weight.Data)
                    else if (name is "CopyTo" or "TryCopyTo" && call.Arguments.Length > 0 && WeightOf(call.Arguments[0].Value, lora) is { } g) Report(c, g);
                }, OperationKind.Invocation);
            });
        }

        private static void Report(OperationAnalysisContext c, IFieldSymbol field) =>
            c.ReportDiagnostic(Diagnostic.Create(Descriptors.WeightMutated, c.Operation.Syntax.GetLocation(), field.Name));

        /// <summary>The [Lora] field whose <c>.Weight</c> (or <c>.Weight.Data</c>, or an element of it) this expression denotes.</summary>
        private static IFieldSymbol? WeightOf(IOperation operation, INamedTypeSymbol lora)
        {
            var op = operation;
            while (true)
            {
                switch (op)
                {
                    case IConversionOperation conv: op = conv.Operand; continue;
                    case IArrayElementReferenceOperation arr: op = arr.ArrayReference; continue;
                    case IImplicitIndexerReferenceOperation idx: op = idx.Instance; continue;
                    case IPropertyReferenceOperation { Property.IsIndexer: true } indexer when indexer.Instance is not null: op = indexer.Instance; continue;
                    case IPropertyReferenceOperation { Property.Name: "Data" } data when data.Instance is not null: op = data.Instance; continue;
                    case IPropertyReferenceOperation { Property.Name: "Weight", Instance: IFieldReferenceOperation fieldRef }
                        when LoraAttributeAnalyzer.FindLora(fieldRef.Field, lora) is not null:
                        return fieldRef.Field;
                    default: return null;
                }
            }
        }
    }
}
