using System.Reflection;
using LoraGen.Analyzers.Tests.Verifiers;
using Microsoft.CodeAnalysis;
using Xunit;

namespace LoraGen.Analyzers.Tests;

/// <summary>Every rule has a title, message, category, help link to an existing docs page, and a release-tracking entry.</summary>
public class CatalogTests
{
    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "LoraGen.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("LoraGen.sln not found above the test output.");
    }

    /// <summary>
    /// IDs of rules that were removed. A retired ID keeps its docs page (saying why it is retired) and is never given to
    /// another rule, so a suppression or .editorconfig entry for it cannot silently start meaning something else; the
    /// sequential check counts it as taken. LORA0201: the TorchSharp backend applies DoRA. LORA0215: the TorchSharp
    /// backend keeps low-precision (NF4/BF16) bases.
    /// </summary>
    private static readonly string[] Retired = ["LORA0201", "LORA0215"];

    public static TheoryData<string> Ids() => [.. AllDescriptors().Select(d => d.Id)];

    private static IEnumerable<DiagnosticDescriptor> AllDescriptors() =>
        typeof(Descriptors).GetFields(BindingFlags.Static | BindingFlags.Public).Select(f => f.GetValue(null)).OfType<DiagnosticDescriptor>();

    [Fact]
    public void IdsAreSequentialPerBlockAndEveryRuleIsSupportedBySomeAnalyzer()
    {
        var ids = AllDescriptors().Select(d => d.Id).Order().ToList();
        Assert.Empty(ids.Intersect(Retired));   // a retired ID is never reused
        // Blocks of a hundred (LORA00xx: attributes and the managed backend, LORA01xx: the TorchSharp backend, LORA02xx:
        // LoRA variants), each numbered from xx01 without gaps once the retired IDs are counted; LORA0000 and LORAxx00
        // are not used.
        Assert.All(ids, id => Assert.Matches("^LORA[0-9]{4}$", id));
        foreach (var block in ids.Concat(Retired).GroupBy(id => int.Parse(id[4..]) / 100))
        {
            var numbered = block.Order().ToList();
            var expected = Enumerable.Range(block.Key * 100 + 1, numbered.Count).Select(i => $"LORA{i:D4}");
            Assert.Equal(expected, numbered);
        }
        Assert.Contains(ids, id => id.StartsWith("LORA00", StringComparison.Ordinal));
        var supported = LoraAnalyzers.All.SelectMany(a => a.SupportedDiagnostics).Select(d => d.Id).ToHashSet();
        Assert.All(ids, id => Assert.Contains(id, supported));
    }

    [Theory]
    [MemberData(nameof(RetiredIds))]
    public void RetiredRuleKeepsARetiredPageAndIsNeitherTrackedNorFixed(string id)
    {
        var page = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "analyzers", id + ".md"));
        Assert.StartsWith($"# {id}: Retired", page);
        Assert.Contains("not reused", page);
        var releases = File.ReadAllText(Path.Combine(RepoRoot(), "analyzers", "LoraGen.Analyzers", "AnalyzerReleases.Unshipped.md"));
        Assert.DoesNotContain(id, releases);
        var fixable = typeof(LoraGen.CodeFixes.RemoveAttributeArgumentCodeFix).Assembly.GetTypes()
            .Where(t => typeof(Microsoft.CodeAnalysis.CodeFixes.CodeFixProvider).IsAssignableFrom(t) && !t.IsAbstract)
            .SelectMany(t => ((Microsoft.CodeAnalysis.CodeFixes.CodeFixProvider)Activator.CreateInstance(t)!).FixableDiagnosticIds);
        Assert.DoesNotContain(id, fixable);
    }

    public static TheoryData<string> RetiredIds() => [.. Retired];

    [Fact]
    public void HelpLinksPointAtTheProjectUrlAndShippedDocs()
    {
        var props = System.Xml.Linq.XDocument.Load(Path.Combine(RepoRoot(), "Directory.Build.props"));
        var projectUrl = props.Descendants("LoraGenProjectUrl").Single().Value;
        Assert.Equal(Descriptors.DocsBaseUrl, projectUrl + "/blob/main/docs/analyzers/");
        var runtime = File.ReadAllText(Path.Combine(RepoRoot(), "src", "LoraGen.Runtime", "LoraGen.Runtime.csproj"));
        Assert.Contains("<None Include=\"../../docs/analyzers/*.md\" Pack=\"true\" PackagePath=\"docs/analyzers\"", runtime);
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void RuleIsDocumentedAndTracked(string id)
    {
        var d = AllDescriptors().Single(x => x.Id == id);
        Assert.False(string.IsNullOrWhiteSpace(d.Title.ToString()));
        Assert.False(string.IsNullOrWhiteSpace(d.MessageFormat.ToString()));
        Assert.StartsWith("LoraGen.", d.Category);
        Assert.Equal(Descriptors.DocsBaseUrl + id + ".md", d.HelpLinkUri);
        var page = Path.Combine(RepoRoot(), "docs", "analyzers", id + ".md");
        Assert.True(File.Exists(page), $"{page} is missing");
        Assert.Contains(id, File.ReadAllText(page));
        var releases = File.ReadAllText(Path.Combine(RepoRoot(), "analyzers", "LoraGen.Analyzers", "AnalyzerReleases.Unshipped.md"));
        Assert.Contains($"{id} | {d.Category} | {d.DefaultSeverity} |", releases);
    }
}
