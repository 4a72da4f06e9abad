using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace LoraGen.Analyzers
{
    /// <summary>
    /// LORA0103: a <c>[Lora]</c> TorchSharp layer field assigned outside its type's constructors, or in a constructor
    /// after <c>RegisterComponents()</c> has registered the previous layer.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class TorchFieldReassignmentAnalyzer : TorchAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.TorchAdaptedFieldReassigned);

        /// <inheritdoc />
        private protected override void Register(CompilationStartAnalysisContext start, TorchSymbols torch)
        {
            start.RegisterOperationAction(c =>
            {
                var assignment = (IAssignmentOperation)c.Operation;
                // Only the field itself: writing an element of a ModuleList/array is a different matter.
                if (assignment.Target is not IFieldReferenceOperation target || !torch.IsAdaptedField(target.Field)) return;
                var field = target.Field;
                string? where = null;
                if (c.ContainingSymbol is not IMethodSymbol { MethodKind: MethodKind.Constructor } ctor
                    || !SymbolEqualityComparer.Default.Equals(ctor.ContainingType, field.ContainingType)
                    || target.Instance is not IInstanceReferenceOperation)
                    where = "after construction";
                else if (RegisteredBefore(assignment.Syntax)) where = "after RegisterComponents()";
                if (where is not null)
                    c.ReportDiagnostic(Diagnostic.Create(Descriptors.TorchAdaptedFieldReassigned, assignment.Syntax.GetLocation(), field.Name, where));
            }, OperationKind.SimpleAssignment, OperationKind.CoalesceAssignment);
        }

        /// <summary>Whether the constructor holding <paramref name="assignment"/> calls <c>RegisterComponents()</c> before it.</summary>
        private static bool RegisteredBefore(SyntaxNode assignment)
        {
            var ctor = assignment.FirstAncestorOrSelf<ConstructorDeclarationSyntax>();
            if (ctor is null) return false;
            return ctor.DescendantNodes().OfType<InvocationExpressionSyntax>().Any(inv =>
                inv.SpanStart < assignment.SpanStart
                && inv.Expression is IdentifierNameSyntax { Identifier.ValueText: "RegisterComponents" }
                    or MemberAccessExpressionSyntax { Name.Identifier.ValueText: "RegisterComponents" });
        }
    }
}
