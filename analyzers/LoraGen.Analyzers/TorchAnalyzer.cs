using Microsoft.CodeAnalysis.Diagnostics;

namespace LoraGen.Analyzers
{
    /// <summary>
    /// The base of the LORA01xx rules: they run only in compilations that reference TorchSharp, and each registers its
    /// actions with the compilation's <see cref="TorchSymbols"/>.
    /// </summary>
    public abstract class TorchAnalyzer : DiagnosticAnalyzer
    {
        /// <inheritdoc />
        public sealed override void Initialize(AnalysisContext context)
        {
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.EnableConcurrentExecution();
            context.RegisterCompilationStartAction(start =>
            {
                if (TorchSymbols.Create(start.Compilation) is { } torch) Register(start, torch);
            });
        }

        /// <summary>Registers the rule's actions for a compilation that references TorchSharp.</summary>
        private protected abstract void Register(CompilationStartAnalysisContext start, TorchSymbols torch);
    }
}
