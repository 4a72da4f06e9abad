using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace LoraGen.Architecture.Tests;

/// <summary>
/// PEFT's key and config-field spellings live in one place: the contract (shared-src/Contract) and the PEFT unit
/// (src/LoraGen.Peft). Any other product source that spells one in a string literal is a second copy.
/// </summary>
public class PeftLiteralTests
{
    /// <summary>Spellings of PEFT's file keys, file names and adapter_config.json fields.</summary>
    private static readonly string[] Spellings =
    [
        "lora_A", "lora_B", "lora_embedding_A", "lora_embedding_B", "lora_magnitude_vector", "vera_lambda",
        "base_model.model", "adapter_model.safetensors", "adapter_config.json",
        "peft_type", "lora_alpha", "lora_dropout", "target_modules", "exclude_modules", "use_rslora", "use_dora",
        "fan_in_fan_out", "init_lora_weights", "rank_pattern", "alpha_pattern", "task_type", "base_model_name_or_path",
        "inference_mode", "layers_to_transform", "layers_pattern", "modules_to_save", "lora_only",
    ];

    /// <summary>Product code: everything that ships or that users copy. Tests may spell the format they check.</summary>
    private static readonly string[] Scanned = ["src", "generators", "analyzers", "shared-src", "samples", "benchmarks"];

    private static readonly string[] Allowed = ["shared-src/Contract/", "src/LoraGen.Peft/"];

    [Fact]
    public void NoPeftSpellingOutsideTheContractAndThePeftUnit()
    {
        var found = new List<string>();
        foreach (var file in Scanned.SelectMany(RepoSources.CsFiles))
        {
            var rel = RepoSources.Relative(file);
            if (Allowed.Any(a => rel.StartsWith(a, StringComparison.Ordinal))) continue;
            found.AddRange(Find(File.ReadAllText(file)).Select(f => $"{rel}:{f}"));
        }
        Assert.True(found.Count == 0, "PEFT spellings outside the contract and the PEFT unit:\n" + string.Join("\n", found));
    }

    [Fact]
    public void TheScannerFindsASpellingInAStringButNotInAComment()
    {
        var hits = Find("""
            /// <summary>Reads <c>lora_A.weight</c>.</summary>
            class C { string k = "x.lora_A.weight"; string f = $"{p}.lora_alpha"; const string ok = "q_proj"; }
            """).ToList();
        Assert.Equal(2, hits.Count);
        Assert.Contains(hits, h => h.Contains("lora_A", StringComparison.Ordinal));
        Assert.Contains(hits, h => h.Contains("lora_alpha", StringComparison.Ordinal));
    }

    [Fact]
    public void TheScanCoversTheProductSources()
    {
        var files = Scanned.SelectMany(RepoSources.CsFiles).Select(RepoSources.Relative).ToList();
        Assert.Contains(files, f => f.StartsWith("src/LoraGen.Runtime/Lora/", StringComparison.Ordinal));
        Assert.Contains(files, f => f.StartsWith("generators/LoraGen.Generators/", StringComparison.Ordinal));
        Assert.Contains(files, f => f.StartsWith("analyzers/LoraGen.Analyzers/", StringComparison.Ordinal));
    }

    /// <summary>Line numbers and spellings of every string-literal token that holds a PEFT spelling.</summary>
    private static IEnumerable<string> Find(string source)
    {
        var root = CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest)).GetRoot();
        foreach (var token in root.DescendantTokens())
        {
            if (!token.IsKind(SyntaxKind.StringLiteralToken) && !token.IsKind(SyntaxKind.InterpolatedStringTextToken)
                && !token.IsKind(SyntaxKind.SingleLineRawStringLiteralToken) && !token.IsKind(SyntaxKind.MultiLineRawStringLiteralToken)
                && !token.IsKind(SyntaxKind.Utf8StringLiteralToken))
                continue;
            foreach (var s in Spellings)
                if (token.Text.Contains(s, StringComparison.Ordinal))
                    yield return $"{token.GetLocation().GetLineSpan().StartLinePosition.Line + 1}: \"{s}\"";
        }
    }
}
