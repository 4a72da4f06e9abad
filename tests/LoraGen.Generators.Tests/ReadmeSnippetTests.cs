using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace LoraGen.Generators.Tests;

/// <summary>
/// The repository README's C# snippet compiles as shown (a console program, with the SDK's implicit usings), through
/// the generator and against the real runtime, and the adapter key it quotes is the generated constant.
/// </summary>
public sealed class ReadmeSnippetTests
{
    private static string ReadmeSnippet()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "LoraGen.sln"))) dir = dir.Parent;
        Assert.NotNull(dir);
        var readme = File.ReadAllText(Path.Combine(dir.FullName, "README.md"));
        var blocks = Regex.Matches(readme, "```csharp\n(.*?)```", RegexOptions.Singleline);
        Assert.True(blocks.Count == 1, $"README.md has {blocks.Count} csharp blocks; this test compiles exactly one.");
        return blocks[0].Groups[1].Value;
    }

    [Fact]
    public void ReadmeSnippetCompilesAsShown()
    {
        // What Microsoft.NET.Sdk's ImplicitUsings adds to a console project.
        const string implicitUsings = "global using System; global using System.Collections.Generic; global using System.IO; global using System.Linq; global using System.Threading.Tasks;";
        var compilation = GeneratorHarness.Compile(("README.cs", ReadmeSnippet()), ("Usings.cs", implicitUsings))
            .WithOptions(new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        var (_, output) = GeneratorHarness.Run(compilation);
        var problems = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems));

        var key = output.GetTypeByMetadataName("Net+LoraKeys")?.GetMembers("h_0_q_proj_A").OfType<IFieldSymbol>().SingleOrDefault();
        Assert.NotNull(key);
        Assert.Equal("base_model.model.h.{0}.q_proj.lora_A.weight", key.ConstantValue);
    }
}
