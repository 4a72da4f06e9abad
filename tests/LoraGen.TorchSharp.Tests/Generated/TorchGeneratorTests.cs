using System.Collections.Immutable;
using System.Reflection;
using LoraGen.Generators;
using LoraGen.Generators.Tests;
using LoraGen.Peft;
using LoraGen.Torch;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace LoraGen.TorchSharp.Tests.Generated;

/// <summary>The generator's TorchSharp emitter: snapshots, incrementality, and the generated code run on libtorch.</summary>
[Collection(TorchGlobalRng.Name)]
public sealed class TorchGeneratorTests
{
    private static readonly CSharpParseOptions Parse = new(LanguageVersion.Latest);

    private static string ModelSource()
    {
        using var s = Assembly.GetExecutingAssembly().GetManifestResourceStream("Generated/GeneratedModels.cs")!;
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    private static CSharpCompilation Compile(string source)
    {
        var tpa = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var refs = tpa.Where(p => Path.GetFileName(p) is { } f && (f.StartsWith("System.", StringComparison.Ordinal) || f is "mscorlib.dll" or "netstandard.dll"))
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .Append(MetadataReference.CreateFromFile(typeof(torch).Assembly.Location))
            .Append(MetadataReference.CreateFromFile(typeof(TorchLoraModelController).Assembly.Location))
            .Append(MetadataReference.CreateFromFile(typeof(LayerKind).Assembly.Location))
            .Append(MetadataReference.CreateFromFile(typeof(LoraAttribute).Assembly.Location));
        return CSharpCompilation.Create("GeneratedTorch", [CSharpSyntaxTree.ParseText(source, Parse, "GeneratedModels.cs")], refs,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
    }

    private static GeneratorDriver Driver() =>
        CSharpGeneratorDriver.Create([new LoraGenerator().AsSourceGenerator()], parseOptions: Parse,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    [Fact]
    public void Snapshots_of_a_TorchSharp_model_compile_cleanly()
    {
        var driver = Driver().RunGeneratorsAndUpdateCompilation(Compile(ModelSource()), out var output, out var diagnostics);
        Assert.Empty(diagnostics);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
        var sources = driver.GetRunResult().Results.Single().GeneratedSources;
        Assert.Equal(4, sources.Length);
        foreach (var s in sources.OrderBy(s => s.HintName, StringComparer.Ordinal))
            Snapshot.Verify("TorchSharp/" + s.HintName.Replace(".g.cs", ""), s.SourceText.ToString());
    }

    [Fact]
    public void Unrelated_edit_reruns_no_output_and_a_rank_edit_one()
    {
        var source = ModelSource();
        var compilation = Compile(source);
        var driver = Driver().RunGenerators(compilation);
        var edited = compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("class Unrelated { int X => 1; }", Parse, "Unrelated.cs"));
        driver = driver.RunGenerators(edited);
        var steps = driver.GetRunResult().Results.Single().TrackedSteps["TorchModuleTypesFound"];
        Assert.All(steps.SelectMany(s => s.Outputs), o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, o.Reason.ToString()));

        var tree = compilation.SyntaxTrees.Single();
        var rank = compilation.ReplaceSyntaxTree(tree, CSharpSyntaxTree.ParseText(source.Replace("Rank = 4, Alpha = 8", "Rank = 5, Alpha = 8"), Parse, "GeneratedModels.cs"));
        driver = driver.RunGenerators(rank);
        var found = driver.GetRunResult().Results.Single().TrackedSteps["TorchModuleTypesFound"].SelectMany(s => s.Outputs).ToList();
        // The edited type's model changes. (Known gap: the root in the same file is reported changed too; see the report.)
        Assert.Contains(found, o => o.Reason is IncrementalStepRunReason.Modified or IncrementalStepRunReason.New);
    }

    [Fact]
    public void Generated_facade_attaches_trains_saves_and_loads()
    {
        torch.manual_seed(5);
        var gpt = new GenGpt();
        torch.manual_seed(5);
        var twin = new GenGpt();
        using var ids = torch.tensor(new long[] { 1, 4, 7, 2, 9, 3 }, [2, 3]);
        using var before = gpt.call(ids);
        ILoraFacade lora = gpt.Lora.Attach();
        Assert.Equal(["blocks.0.q_proj", "blocks.0.v_proj", "blocks.1.q_proj", "blocks.1.v_proj", "head", "wte"],
            gpt.Lora.Targets().Select(t => t.Path).Order(StringComparer.Ordinal));
        Assert.Equal(3, gpt.Lora.Targets().Single(t => t.Path == "head").Config.Rank);
        Assert.True(gpt.Lora.Targets().Single(t => t.Path == "blocks.1.v_proj").Config.UseRsLora);
        using (var after = gpt.call(ids)) Assert.True(before.allclose(after, rtol: 0, atol: 0));
        using (torch.no_grad())
            foreach (var p in gpt.Lora.Parameters()) if (p.abs().sum().item<float>() == 0) nn.init.normal_(p, 0, 0.2);
        using var trained = gpt.call(ids);
        var dir = Path.Combine(Path.GetTempPath(), "loragen-torch-gen-" + Guid.NewGuid().ToString("N"));
        try
        {
            lora.Save(dir);
            using (var files = AdapterDirectory.Open(dir))
            {
                Assert.True(files.Weights.Contains(GenGpt.LoraKeys.wte_A));
                Assert.True(files.Weights.Contains(GenGpt.LoraKeys.blocks_0_q_proj_A.Replace("{0}", "1")));
                Assert.Equal("tests/gen-gpt", files.Config.BaseModelNameOrPath);
            }
            twin.Lora.Load(dir);
            using var loaded = twin.call(ids);
            Assert.True(trained.allclose(loaded, rtol: 0, atol: 0));
            lora.Merge();
            using var merged = gpt.call(ids);
            Assert.True(trained.allclose(merged, rtol: 0, atol: 1e-5));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Generated_DoRA_field_attaches_a_magnitude_and_saves_use_dora()
    {
        torch.manual_seed(6);
        var net = new GenDora();
        Assert.True(net.Lora.Targets().Single().Config.UseDora);
        net.Lora.Attach();
        Assert.Equal([[4L, 6L], [6L, 4L], [6L]], net.Lora.Parameters().Select(p => p.shape));
        var dir = Path.Combine(Path.GetTempPath(), "loragen-torch-gendora-" + Guid.NewGuid().ToString("N"));
        try
        {
            net.Lora.Save(dir);
            using var files = AdapterDirectory.Open(dir);
            Assert.True(files.Config.UseDora);
            Assert.True(files.Weights.Contains(AdapterKeys.Magnitude("fc")));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Generated_VeRA_fields_with_an_NF4_base_attach_VeRA_quantize_and_save_a_VERA_file()
    {
        torch.manual_seed(7);
        var net = new GenVera();
        Assert.All(net.Lora.Targets(), t => Assert.Equal(LoraVariant.Vera, t.Config.Variant));
        Assert.Equal(LoraBaseQuantization.Nf4, GenVera.LoraOptions.BaseQuantization);
        net.Lora.Attach();
        Assert.Equal(LoraVariant.Vera, net.Lora.VariantOf("default"));
        Assert.Equal(LoraBaseQuantization.Nf4, net.Lora.BaseQuantizationOf("fc"));
        Assert.Equal([[4L], [12L], [4L], [6L]], net.Lora.Parameters().Select(p => p.shape));   // λ_d, λ_b per layer
        var dir = Path.Combine(Path.GetTempPath(), "loragen-torch-genvera-" + Guid.NewGuid().ToString("N"));
        try
        {
            net.Lora.Save(dir);
            var (config, weights) = AdapterDirectory.OpenBasis(dir);
            using (weights)
            {
                Assert.Equal(LoraVariant.Vera, config.Variant);
                Assert.Equal(4, config.R);
                Assert.Equal([4L, 12L], weights.Info("base_model.vera_A").Shape);   // sized for the largest layer
            }
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
