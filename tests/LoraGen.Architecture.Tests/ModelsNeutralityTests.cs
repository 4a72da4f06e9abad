using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace LoraGen.Architecture.Tests;

/// <summary>
/// src/LoraGen.Models keeps everything that is not arithmetic — Hub/ (config.json, the shard index, checkpoint reading
/// and key mapping), Tokenization/, Generation/ — free of the managed runtime, so the TorchSharp backend reuses it
/// unchanged: those folders compile without LoraGen.Runtime. Only Families/ (the [LoraModel] classes) uses it.
/// </summary>
public class ModelsNeutralityTests
{
    public static readonly string[] NeutralFolders = ["Hub", "Tokenization", "Generation"];

    [Fact]
    public void NeutralFoldersCompileWithoutTheRuntime()
    {
        var compilation = CompileWithout(NeutralFolders, "LoraGen.Runtime.dll");
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Take(10).ToList();
        Assert.True(errors.Count == 0, "the backend-neutral folders of src/LoraGen.Models need the runtime:\n" + string.Join("\n", errors));
    }

    [Fact]
    public void FamiliesDoNotCompileWithoutTheRuntime()
    {
        // The check above could pass by compiling nothing: the managed families must fail the same way.
        var compilation = CompileWithout([.. NeutralFolders, "Families"], "LoraGen.Runtime.dll");
        Assert.Contains(compilation.GetDiagnostics(), d => d.Severity == DiagnosticSeverity.Error);
    }

    private static CSharpCompilation CompileWithout(string[] folders, string excluded)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var files = folders.SelectMany(f => RepoSources.CsFiles(Path.Combine("src/LoraGen.Models", f))).Append(Path.Combine(RepoSources.Root, "shared-src/Contract/HfFiles.cs")).ToList();
        Assert.NotEmpty(files);
        var trees = files.Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), parse, f)).ToList();
        trees.Add(CSharpSyntaxTree.ParseText("""
            global using System;
            global using System.Collections.Generic;
            global using System.IO;
            global using System.Linq;
            global using System.Threading;
            global using System.Threading.Tasks;
            """, parse, "ImplicitUsings.g.cs"));
        var tpa = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var refs = tpa.Where(p => !Path.GetFileName(p).Equals(excluded, StringComparison.OrdinalIgnoreCase)
                               && !Path.GetFileName(p).Equals("LoraGen.Models.dll", StringComparison.OrdinalIgnoreCase))
            .Select(p => MetadataReference.CreateFromFile(p));
        return CSharpCompilation.Create("Neutral", trees, refs,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
    }
}
