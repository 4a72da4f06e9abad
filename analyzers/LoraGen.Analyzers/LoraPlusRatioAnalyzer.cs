using System;
using System.Collections.Immutable;
using System.Globalization;
using LoraGen.Contract;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace LoraGen.Analyzers
{
    /// <summary>
    /// LORA0204: a constant LoRA+ ratio (the <c>lrRatio</c> argument of <c>LoraPlus.Groups</c> or
    /// <c>LoraPlus.CreateOptimizer</c>) that is not above 1. The fix writes PEFT's default, 16.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class LoraPlusRatioAnalyzer : DiagnosticAnalyzer
    {
        /// <summary>PEFT's default <c>loraplus_lr_ratio</c>, the fix's value.</summary>
        internal const string DefaultRatio = "16";

        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.LoraPlusRatioTooSmall);

        /// <inheritdoc />
        public override void Initialize(AnalysisContext context)
        {
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.EnableConcurrentExecution();
            context.RegisterCompilationStartAction(start =>
            {
                var loraPlus = start.Compilation.GetTypeByMetadataName(RuntimeNames.LoraPlus);
                if (loraPlus is null) return;
                start.RegisterOperationAction(c => Analyze(c, loraPlus), OperationKind.Invocation);
            });
        }

        private static void Analyze(OperationAnalysisContext context, INamedTypeSymbol loraPlus)
        {
            var call = (IInvocationOperation)context.Operation;
            if (!SymbolEqualityComparer.Default.Equals(call.TargetMethod.ContainingType, loraPlus)) return;
            foreach (var arg in call.Arguments)
            {
                if (arg.ArgumentKind == ArgumentKind.DefaultValue || arg.Parameter?.Name != RuntimeNames.LoraPlusRatioParameter) continue;
                if (!arg.Value.ConstantValue.HasValue || arg.Value.ConstantValue.Value is null) continue;
                double ratio = Convert.ToDouble(arg.Value.ConstantValue.Value, CultureInfo.InvariantCulture);
                if (ratio > 1) continue;
                string why = ratio == 1 ? "is plain LoRA: A and B get the same learning rate"
                    : ratio > 0 ? "makes B learn slower than A, the opposite of LoRA+"
                    : "is not positive: LoraPlus throws when it builds the parameter groups";
                var where = (arg.Value is IConversionOperation { IsImplicit: true } conversion ? conversion.Operand : arg.Value).Syntax.GetLocation();
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.LoraPlusRatioTooSmall, where,
                    ImmutableDictionary<string, string?>.Empty.Add(DiagnosticProperties.Replacement, DefaultRatio),
                    Convert.ToString(arg.Value.ConstantValue.Value, CultureInfo.InvariantCulture), why));
            }
        }
    }
}
