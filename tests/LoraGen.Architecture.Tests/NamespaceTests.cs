using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Xunit;

namespace LoraGen.Architecture.Tests;

/// <summary>Namespaces follow folders; no type is named like its namespace; one public type per file.</summary>
public class NamespaceTests
{
    /// <summary>The projects whose root namespace is <c>LoraGen</c>: folder <c>Nn/</c> holds namespace <c>LoraGen.Nn</c>.</summary>
    public static TheoryData<string> Projects => ["src/LoraGen.Runtime", "src/LoraGen.Peft", "src/LoraGen.Abstractions", "src/LoraGen.TorchSharp", "src/LoraGen.Plotting", "src/LoraGen.Models"];

    [Theory]
    [MemberData(nameof(Projects))]
    public void EveryFileDeclaresTheNamespaceOfItsFolder(string project)
    {
        var wrong = new List<string>();
        foreach (var file in RepoSources.CsFiles(project))
        {
            var folder = Path.GetDirectoryName(Path.GetRelativePath(Path.Combine(RepoSources.Root, project), file))!;
            var expected = folder.Length == 0 ? "LoraGen" : "LoraGen." + folder.Replace(Path.DirectorySeparatorChar, '.');
            foreach (var ns in Namespaces(file))
                if (ns != expected) wrong.Add($"{RepoSources.Relative(file)}: namespace {ns}, folder says {expected}");
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public void EveryRuntimeTypeLivesInTheFolderOfItsNamespace()
    {
        // Walk the built assembly: each top-level type sits in <folder>/<Type>.cs, and that folder is its namespace.
        var root = Path.Combine(RepoSources.Root, "src/LoraGen.Runtime");
        var files = RepoSources.CsFiles("src/LoraGen.Runtime").ToLookup(f => Path.GetFileNameWithoutExtension(f), StringComparer.Ordinal);
        var wrong = new List<string>();
        foreach (var type in typeof(LoraGen.Nn.Module).Assembly.GetExportedTypes().Where(t => !t.IsNested))
        {
            var name = type.Name.Split('`')[0];
            var file = files[name].SingleOrDefault();
            if (file is null) { wrong.Add($"{type.FullName}: no file {name}.cs"); continue; }
            var folder = Path.GetDirectoryName(Path.GetRelativePath(root, file))!.Replace(Path.DirectorySeparatorChar, '.');
            var expected = folder.Length == 0 ? "LoraGen" : "LoraGen." + folder;
            if (type.Namespace != expected) wrong.Add($"{type.FullName}: in {RepoSources.Relative(file)}, expected namespace {expected}");
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    public static TheoryData<string> Assemblies => ["LoraGen.Runtime", "LoraGen.Peft", "LoraGen.Abstractions", "LoraGen.Models"];

    [Theory]
    [MemberData(nameof(Assemblies))]
    public void NoTypeIsNamedLikeItsNamespace(string assembly)
    {
        var asm = Assembly.Load(assembly);
        var clashes = asm.GetTypes()
            .Where(t => !t.IsNested && t.Namespace is not null && !t.Name.StartsWith('<'))
            .Where(t => t.Namespace!.Split('.').Contains(t.Name.Split('`')[0]))
            .Select(t => t.FullName).ToList();
        Assert.True(clashes.Count == 0, string.Join("\n", clashes));
    }

    [Theory]
    [MemberData(nameof(Projects))]
    public void OnePublicTypePerFileNamedAfterIt(string project)
    {
        var wrong = new List<string>();
        foreach (var file in RepoSources.CsFiles(project))
        {
            var tree = CSharpSyntaxTree.ParseText(File.ReadAllText(file), new CSharpParseOptions(LanguageVersion.Latest));
            var types = tree.GetRoot().DescendantNodes().OfType<BaseTypeDeclarationSyntax>()
                .Where(t => t.Parent is BaseNamespaceDeclarationSyntax or CompilationUnitSyntax)
                .Where(t => t.Modifiers.Any(SyntaxKind.PublicKeyword)).ToList();
            var delegates = tree.GetRoot().DescendantNodes().OfType<DelegateDeclarationSyntax>()
                .Count(d => d.Parent is BaseNamespaceDeclarationSyntax or CompilationUnitSyntax && d.Modifiers.Any(SyntaxKind.PublicKeyword));
            if (types.Count + delegates > 1)
                wrong.Add($"{RepoSources.Relative(file)}: {types.Count + delegates} public types ({string.Join(", ", types.Select(t => t.Identifier.Text))})");
            // A partial type may spread over Type.cs and Type.Part.cs.
            else if (types.Count == 1 && Path.GetFileNameWithoutExtension(file).Split('.')[0] != types[0].Identifier.Text)
                wrong.Add($"{RepoSources.Relative(file)}: holds {types[0].Identifier.Text}");
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    private static IEnumerable<string> Namespaces(string file)
    {
        var tree = CSharpSyntaxTree.ParseText(File.ReadAllText(file), new CSharpParseOptions(LanguageVersion.Latest));
        return tree.GetRoot().DescendantNodes().OfType<BaseNamespaceDeclarationSyntax>().Select(n => n.Name.ToString());
    }
}
