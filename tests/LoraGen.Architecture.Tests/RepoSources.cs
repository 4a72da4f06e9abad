using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace LoraGen.Architecture.Tests;

/// <summary>The repository's C# sources, found from the test's output folder, and compilations of them.</summary>
internal static class RepoSources
{
    /// <summary>The repository root (the folder holding LoraGen.sln).</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "LoraGen.sln"))) return dir.FullName;
        throw new InvalidOperationException($"LoraGen.sln not found above {AppContext.BaseDirectory}.");
    }

    /// <summary>The .cs files below <paramref name="relativeDir"/>, without build outputs.</summary>
    public static IEnumerable<string> CsFiles(string relativeDir)
    {
        var dir = Path.Combine(Root, relativeDir);
        if (!Directory.Exists(dir)) return [];
        return Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories)
            .Where(f => !IsBuildOutput(Path.GetRelativePath(Root, f)))
            .Order(StringComparer.Ordinal);
    }

    private static bool IsBuildOutput(string relative) =>
        relative.Split(Path.DirectorySeparatorChar).Any(seg => seg is "bin" or "obj");

    /// <summary>Repository-relative path with forward slashes.</summary>
    public static string Relative(string path) => Path.GetRelativePath(Root, path).Replace('\\', '/');

    /// <summary>
    /// A compilation of one project's sources (plus <paramref name="linked"/> folders it links) against every assembly
    /// this test process can see except <paramref name="exclude"/> (the project's own built assembly).
    /// </summary>
    public static CSharpCompilation Compile(string projectDir, string exclude, params string[] linked)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var trees = CsFiles(projectDir).Concat(linked.SelectMany(CsFiles))
            .Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), parse, f)).ToList();
        // The SDK's implicit usings (ImplicitUsings=enable in Directory.Build.props).
        trees.Add(CSharpSyntaxTree.ParseText("""
            global using System;
            global using System.Collections.Generic;
            global using System.IO;
            global using System.Linq;
            global using System.Net.Http;
            global using System.Threading;
            global using System.Threading.Tasks;
            """, parse, "ImplicitUsings.g.cs"));
        var tpa = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var refs = tpa.Where(p => !Path.GetFileName(p).Equals(exclude + ".dll", StringComparison.OrdinalIgnoreCase))
            .Select(p => MetadataReference.CreateFromFile(p));
        return CSharpCompilation.Create(exclude, trees, refs,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
    }
}
