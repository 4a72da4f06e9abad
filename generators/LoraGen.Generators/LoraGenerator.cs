using System;
using System.Linq;
using LoraGen.Contract;
using LoraGen.Generators.Emitting;
using LoraGen.Generators.Model;
using LoraGen.Generators.Parsing;
using LoraGen.SourceModel;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace LoraGen.Generators
{
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
            // Structure: no attribute marks a Module subclass, so a cheap syntactic filter, then the semantic check.
            var modules = context.SyntaxProvider
                .CreateSyntaxProvider(
                    static (node, _) => ModuleParser.IsCandidate(node),
                    static (ctx, ct) => Guard(() => ModuleParser.ParseModuleType(ctx, ct)))
                .WithTrackingName(TrackingNames.ModuleTypes)
                .WhereNotNull()
                .WithTrackingName(TrackingNames.ModuleTypesFound);

            var loraFields = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    RuntimeNames.LoraAttribute,
                    static (node, _) => node is VariableDeclaratorSyntax,
                    static (ctx, ct) => Guard(() => ModuleParser.ParseLoraField(ctx, ct)))
                .WithTrackingName(TrackingNames.LoraFields)
                .WhereNotNull()
                .WithTrackingName(TrackingNames.LoraFieldsFound)
                .Collect()
                .Select(static (all, _) => new EquatableArray<LoraFieldModel>(all.ToArray()))
                .WithTrackingName(TrackingNames.LoraFieldsCollected);

            var roots = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    RuntimeNames.LoraModelAttribute,
                    static (node, _) => node is ClassDeclarationSyntax,
                    static (ctx, ct) => Guard(() => ModuleParser.ParseRoot(ctx, ct)))
                .WithTrackingName(TrackingNames.LoraModels)
                .WhereNotNull()
                .WithTrackingName(TrackingNames.LoraModelsFound)
                .Collect()
                .Select(static (all, _) => new EquatableArray<RootModel>(all.ToArray()))
                .WithTrackingName(TrackingNames.LoraModelsCollected);

            var generation = modules
                .Combine(loraFields)
                .WithTrackingName(TrackingNames.ModuleTypesWithLoraFields)
                .Combine(roots)
                .WithTrackingName(TrackingNames.ModuleTypesWithRoots)
                .Select(static (input, _) => ModuleParser.Combine(input.Left.Left, input.Left.Right, input.Right))
                .WithTrackingName(TrackingNames.Generation);

            // The TorchSharp backend: partial subclasses of TorchSharp's module, each parsed on its own (fields and root
            // settings are read from the type itself, so one model per type and nothing to join).
            var torchModules = context.SyntaxProvider
                .CreateSyntaxProvider(
                    static (node, _) => ModuleParser.IsCandidate(node),
                    static (ctx, ct) => Guard(() => TorchModuleParser.Parse(ctx, ct)))
                .WithTrackingName(TrackingNames.TorchModuleTypes)
                .WhereNotNull()
                .WithTrackingName(TrackingNames.TorchModuleTypesFound);
            context.RegisterSourceOutput(torchModules, static (spc, model) =>
            {
                string? source = Guard(() => TorchSharpEmitter.Emit(model));
                if (source is not null) spc.AddSource(model.HintName, source);
            });

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
