using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Xunit;

namespace LoraGen.Generators.Tests;

/// <summary>
/// Every C# snippet of docs/guide.md compiles as shown, through the generator and against the real runtime: a snippet
/// that declares types is a file of its own; one of statements becomes the body of a method that has the variables
/// the guide says the snippets share (<c>model</c>, <c>fresh</c>, <c>x</c>, <c>y</c>, <c>steps</c>); each snippet's
/// <c>using</c> lines stay its file's (with the SDK's implicit usings), so a missing one fails the test.
/// </summary>
public sealed class GuideSnippetTests
{
    private static List<string> GuideSnippets()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "LoraGen.sln"))) dir = dir.Parent;
        Assert.NotNull(dir);
        var guide = File.ReadAllText(Path.Combine(dir.FullName, "docs", "guide.md"));
        return Regex.Matches(guide, "```csharp\n(.*?)```", RegexOptions.Singleline).Select(m => m.Groups[1].Value).ToList();
    }

    private static (string Path, string Text) AsFile(string snippet, int index)
    {
        var lines = snippet.Split('\n');
        int body = 0;
        while (body < lines.Length && (lines[body].StartsWith("using ", StringComparison.Ordinal) || lines[body].Trim().Length == 0)) body++;
        string usings = string.Join("\n", lines[..body]), statements = string.Join("\n", lines[body..]);
        bool declaresTypes = Regex.IsMatch(statements, @"^(\[\w+.*\]\s*)?(public |internal )?(sealed |static )?(partial )?(class|record|struct) ", RegexOptions.Multiline);
        string text = declaresTypes ? snippet
            : $"{usings}\npublic static class GuideSnippet{index}\n{{\n    public static void Run(Mlp model, Mlp fresh, LoraGen.Tensors.Tensor x, int[] y, int steps)\n    {{\n{statements}\n    }}\n}}\n";
        return ($"guide-{index}.cs", text);
    }

    [Fact]
    public void EveryGuideSnippetCompilesWithItsUsings()
    {
        var snippets = GuideSnippets();
        Assert.True(snippets.Count >= 4, $"docs/guide.md has {snippets.Count} csharp blocks");
        const string implicitUsings = "global using System; global using System.Collections.Generic; global using System.IO; global using System.Linq; global using System.Threading.Tasks;";
        var files = snippets.Select(AsFile).Append(("Usings.cs", implicitUsings)).ToArray();
        var (_, output) = GeneratorHarness.Run(GeneratorHarness.Compile(files));
        var problems = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems) + "\n\n" + string.Join("\n\n", files.Select(f => f.Item2)));
    }
}
