using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace LoraGen.Analyzers
{
    /// <summary>
    /// LORA0101: a <c>[Lora]</c> TorchSharp Linear/Embedding (or an element of a <c>[Lora]</c> ModuleList/array of them)
    /// invoked with <c>forward(x)</c>, which skips the forward hook that adds the adapter; <c>call(x)</c> runs it.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class TorchForwardCallAnalyzer : TorchAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.TorchForwardSkipsHooks);

        /// <inheritdoc />
        private protected override void Register(CompilationStartAnalysisContext start, TorchSymbols torch)
        {
            start.RegisterOperationAction(c =>
            {
                var call = (IInvocationOperation)c.Operation;
                if (call.TargetMethod.Name != "forward" || call.TargetMethod.IsStatic) return;
                if (torch.AdaptedFieldOf(call.Instance) is { } field)
                    c.ReportDiagnostic(Diagnostic.Create(Descriptors.TorchForwardSkipsHooks, call.Syntax.GetLocation(), field.Name));
            }, OperationKind.Invocation);
        }
    }
}
