using System;
using System.Linq;
using LoraGen.SourceModel;
using Microsoft.CodeAnalysis;

namespace LoraGen.Generators
{
    /// <summary>Names of the pipeline steps, for incremental-cacheability tests.</summary>
    internal static class TrackingNames
    {
        public const string ModuleTypes = nameof(ModuleTypes);
        public const string ModuleTypesFound = nameof(ModuleTypesFound);
        public const string LoraFields = nameof(LoraFields);
        public const string LoraFieldsFound = nameof(LoraFieldsFound);
        public const string LoraFieldsCollected = nameof(LoraFieldsCollected);
        public const string LoraModels = nameof(LoraModels);
        public const string LoraModelsFound = nameof(LoraModelsFound);
        public const string LoraModelsCollected = nameof(LoraModelsCollected);
        public const string Generation = nameof(Generation);
    }

    /// <summary>
    /// The LoraGen incremental generator. Three inputs — partial Module subclasses (structure), [Lora] fields
    /// (adapter settings) and [LoraModel] roots (facade settings and compile-time keys) — are combined per type
    /// and emitted as <c>&lt;Type&gt;.Lora.g.cs</c>. It reports no diagnostics (the analyzers do) and never throws:
    /// a type it cannot handle gets no code.
    /// </summary>
    [Generator(LanguageNames.CSharp)]
    public sealed class LoraGenerator : IIncrementalGenerator
    {
        /// <inheritdoc />
        public void Initialize(IncrementalGeneratorInitializationContext context)
        {
            var modules = context.SyntaxProvider
                .CreateSyntaxProvider(static (node, _) => ModuleParser.IsCandidate(node), static (ctx, ct) => Guard(() => ModuleParser.ParseModuleType(ctx, ct)))
                .WithTrackingName(TrackingNames.ModuleTypes)
                .Where(static m => m is not null)
                .Select(static (m, _) => m!.Value)
                .WithTrackingName(TrackingNames.ModuleTypesFound);

            var loraFields = context.SyntaxProvider
                .ForAttributeWithMetadataName(KnownTypes.LoraAttribute, static (node, _) => node is Microsoft.CodeAnalysis.CSharp.Syntax.VariableDeclaratorSyntax,
                    static (ctx, ct) => Guard(() => ModuleParser.ParseLoraField(ctx, ct)))
                .WithTrackingName(TrackingNames.LoraFields)
                .Where(static f => f is not null)
                .Select(static (f, _) => f!.Value)
                .WithTrackingName(TrackingNames.LoraFieldsFound)
                .Collect()
                .Select(static (all, _) => new EquatableArray<LoraFieldModel>(all.ToArray()))
                .WithTrackingName(TrackingNames.LoraFieldsCollected);

            var roots = context.SyntaxProvider
                .ForAttributeWithMetadataName(KnownTypes.LoraModelAttribute, static (node, _) => node is Microsoft.CodeAnalysis.CSharp.Syntax.ClassDeclarationSyntax,
                    static (ctx, ct) => Guard(() => ModuleParser.ParseRoot(ctx, ct)))
                .WithTrackingName(TrackingNames.LoraModels)
                .Where(static r => r is not null)
                .Select(static (r, _) => r!.Value)
                .WithTrackingName(TrackingNames.LoraModelsFound)
                .Collect()
                .Select(static (all, _) => new EquatableArray<RootModel>(all.ToArray()))
                .WithTrackingName(TrackingNames.LoraModelsCollected);

            var generation = modules
                .Combine(loraFields)
                .Combine(roots)
                .Select(static (input, _) => ModuleParser.Combine(input.Left.Left, input.Left.Right, input.Right))
                .WithTrackingName(TrackingNames.Generation);

            context.RegisterSourceOutput(generation, static (spc, model) =>
            {
                string? source = Guard(() => ModuleEmitter.Emit(model));
                if (source is not null) spc.AddSource(model.Type.HintName, source);
            });
        }

        /// <summary>The generator never throws: a failure for one type means no code for that type.</summary>
        private static T? Guard<T>(Func<T?> action)
        {
            try
            {
                return action();
            }
            catch (OperationCanceledException)
            {
                throw;
            }
            catch (Exception)
            {
                return default;
            }
        }
    }
}
