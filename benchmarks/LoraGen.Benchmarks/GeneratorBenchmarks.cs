using System.Text;
using BenchmarkDotNet.Attributes;
using LoraGen.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace LoraGen.Benchmarks;

/// <summary>
/// The generator over 1,000 annotated module classes (each with two [Lora] fields and two plain children, one
/// class per file, plus a [LoraModel] root): a cold run, and a rerun after an unrelated edit.
/// </summary>
public class GeneratorBenchmarks
{
    /// <summary>How many annotated classes.</summary>
    public const int Classes = 1000;

    private CSharpCompilation _compilation = null!;
    private CSharpCompilation _edited = null!;
    private GeneratorDriver _warm = null!;

    /// <summary>Builds the compilation and a warm driver.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var trees = new List<SyntaxTree>();
        for (int i = 0; i < Classes; i++)
            trees.Add(CSharpSyntaxTree.ParseText($$"""
                using LoraGen;
                using LoraGen.Nn;
                namespace Bench.Models;
                public sealed partial class Block{{i}} : Module
                {
                    [Lora(Rank = 8, Alpha = 16)] private readonly Linear q_proj = new(64, 64);
                    private readonly Linear k_proj = new(64, 64);
                    [Lora(Rank = 8, Alpha = 16, Dropout = 0.05)] private readonly Linear v_proj = new(64, 64);
                    private readonly LayerNorm norm = new(64);
                    public int Work(int x) => x * {{i}};
                }
                """, path: $"Block{i}.cs"));
        var root = new StringBuilder("using LoraGen; using LoraGen.Nn; namespace Bench.Models; [LoraModel] public sealed partial class Root : Module {");
        for (int i = 0; i < 50; i++) root.Append($" private readonly Block{i} b{i} = new();");
        trees.Add(CSharpSyntaxTree.ParseText(root.Append(" }").ToString(), path: "Root.cs"));
        var tpa = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var refs = tpa.Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) == "netstandard.dll")
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .Append(MetadataReference.CreateFromFile(typeof(LoraGen.Nn.Module).Assembly.Location))
            .Append(MetadataReference.CreateFromFile(typeof(LoraAttribute).Assembly.Location));
        _compilation = CSharpCompilation.Create("Bench", trees, refs, new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        var target = trees[Classes / 2];
        _edited = _compilation.ReplaceSyntaxTree(target, CSharpSyntaxTree.ParseText(target.ToString().Replace("x * ", "x + "), path: target.FilePath));
        _warm = NewDriver(track: false).RunGenerators(_compilation);
    }

    // Timings use the compiler's and IDE's configuration: step tracking off (tracking alone costs ~1 s here).
    private static GeneratorDriver NewDriver(bool track) =>
        CSharpGeneratorDriver.Create([new LoraGenerator().AsSourceGenerator()],
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: track));

    /// <summary>First run: parse every class and emit every file.</summary>
    [Benchmark]
    public int Cold() => NewDriver(track: false).RunGenerators(_compilation).GetRunResult().GeneratedTrees.Length;

    /// <summary>Rerun after a method-body edit in one class: everything should come from the cache.</summary>
    [Benchmark]
    public int UnrelatedEdit() => _warm.RunGenerators(_edited).GetRunResult().GeneratedTrees.Length;

    /// <summary>How many generated files were regenerated (New or Modified) by the unrelated edit.</summary>
    public int RegeneratedOnEdit()
    {
        var tracked = NewDriver(track: true).RunGenerators(_compilation);
        var result = tracked.RunGenerators(_edited).GetRunResult().Results.Single();
        return result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(r => r.Outputs)
            .Count(o => o.Reason is IncrementalStepRunReason.New or IncrementalStepRunReason.Modified);
    }
}
