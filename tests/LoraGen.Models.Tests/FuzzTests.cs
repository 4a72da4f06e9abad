using System.Diagnostics;
using System.Text;
using LoraGen.Hub;
using LoraGen.Tokenization;
using Xunit;
using Xunit.Abstractions;

namespace LoraGen.Models.Tests;

/// <summary>
/// Seeded, bounded fuzzing of every input surface of a model directory: config.json, model.safetensors.index.json,
/// tokenizer.json, vocab.json/merges.txt and tokenizer_config.json. Each mutated input either parses or throws the
/// surface's typed error; none takes over 2 s, none allocates beyond a bound linear in its size.
/// <c>LORAGEN_FUZZ_CASES</c> raises the count (100,000 for the benchmark run); CI runs 10,000 per surface.
/// </summary>
public class FuzzTests(ITestOutputHelper output)
{
    private static readonly string[] Tokens =
    [
        "{", "}", "[", "]", ",", ":", "\"", "null", "true", "false", "-1", "0", "1e309", "NaN", "-0.0", "1.5", "\"\"",
        "99999999999999999999", "\\u0000", "\\ud800", "[[[[[[[[", "]]]]]]]]", "{\"a\":", "\u00e9", "\uffff", " ", "\n",
        "\"model_type\"", "\"llama\"", "\"gpt2\"", "\"rope_scaling\"", "\"weight_map\"", "\"merges\"", "\"vocab\"", "\"type\"", "\"BPE\"",
    ];

    private static int Cases => int.TryParse(Environment.GetEnvironmentVariable("LORAGEN_FUZZ_CASES"), out var n) && n > 0 ? n : 10_000;

    private static string Seed(string fixture, string file) => File.ReadAllText(Path.Combine(Fixtures.Dir(fixture), file));

    [Fact]
    public void ConfigJson() => Run("config.json", [Seed("gpt2", "config.json"), Seed("llama", "config.json"), Seed("llama3-tied", "config.json")],
        s => HfConfig.Parse(s, "config.json"), e => e is ModelFileException, bytesPerInputByte: 200);

    [Fact]
    public void ShardIndexJson() => Run("model.safetensors.index.json", [Seed("llama", "model.safetensors.index.json")],
        s => ShardIndex.Parse(s, "index.json"), e => e is ModelFileException, bytesPerInputByte: 200);

    [Fact]
    public void TokenizerConfigJson() => Run("tokenizer_config.json", [Seed("gpt2", "tokenizer_config.json"), Seed("llama", "tokenizer_config.json")],
        s => TokenizerConfig.Parse(s, "tokenizer_config.json"), e => e is TokenizerFileException, bytesPerInputByte: 200);

    // The two BPE surfaces build a tokenizer from what parses: a small seed keeps each case cheap.
    private const string SmallTokenizerJson = """
        {"added_tokens": [{"id": 9, "content": "<s>", "special": true}],
         "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\s?\\p{L}+|\\s+|."}}]},
         "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "Ġ": 3, "ab": 4, "abc": 5, "Ġa": 6, "!": 7, "bc": 8},
                   "merges": ["a b", "ab c", ["Ġ", "a"], "b c"]}}
        """;

    [Fact]
    public void TokenizerJson() => Run("tokenizer.json", [SmallTokenizerJson],
        s => HfTokenizer.FromTokenizerJson(s, "tokenizer.json", TokenizerConfig.Empty).Encode("abc a!"), e => e is TokenizerFileException,
        bytesPerInputByte: 2_000, fixedBytes: 2_000_000);

    [Fact]
    public void VocabJsonAndMergesTxt() => Run("vocab.json + merges.txt", ["{\"a\": 0, \"b\": 1, \"c\": 2, \"Ġ\": 3, \"ab\": 4, \"abc\": 5, \"Ġa\": 6}\u0001#version: 0.2\na b\nab c\nĠ a\n"],
        s =>
        {
            // One input holds both files, split at \u0001, so mutations reach either.
            int cut = s.IndexOf('\u0001');
            string vocab = cut < 0 ? s : s[..cut], merges = cut < 0 ? "" : s[(cut + 1)..];
            HfTokenizer.FromVocabAndMerges(vocab, "vocab.json", merges, "merges.txt", TokenizerConfig.Empty).Encode("abc a");
        },
        e => e is TokenizerFileException, bytesPerInputByte: 2_000, fixedBytes: 2_000_000);

    private void Run(string surface, string[] seeds, Action<string> parse, Func<Exception, bool> typed, long bytesPerInputByte, long fixedBytes = 64 * 1024)
    {
        var rng = new Random(20261130 ^ surface.Length);
        var failures = new List<string>();
        var total = Stopwatch.StartNew();
        int parsed = 0, rejected = 0, cases = Cases;
        for (int i = 0; i < cases && failures.Count < 5; i++)
        {
            string input = Mutate(seeds[rng.Next(seeds.Length)], rng);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var watch = Stopwatch.StartNew();
            try
            {
                parse(input);
                parsed++;
            }
            catch (Exception e) when (typed(e))
            {
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
                rejected++;
            }
            catch (Exception e)
            {
                failures.Add($"case {i}: {e.GetType().Name}: {e.Message}\n  input: {input}");
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(watch.ElapsedMilliseconds < 2_000, $"{surface} case {i} took {watch.ElapsedMilliseconds} ms: {input}");
            Assert.True(allocated <= fixedBytes + bytesPerInputByte * input.Length, $"{surface} case {i} allocated {allocated:N0} bytes for {input.Length} chars");
        }
        output.WriteLine($"{surface}: {cases} cases in {total.Elapsed.TotalSeconds:F1} s (parsed {parsed}, rejected {rejected})");
        Assert.True(failures.Count == 0, $"{surface}: untyped errors:\n" + string.Join("\n", failures));
        Assert.True(parsed > 0 && rejected > 0, $"{surface}: the fuzz should reach both outcomes (parsed {parsed}, rejected {rejected})");
    }

    /// <summary>1–4 edits: byte flips, deletions, duplications, token insertions, truncation; decoded as UTF-8 (lossy).</summary>
    private static string Mutate(string seed, Random rng)
    {
        var bytes = new List<byte>(Encoding.UTF8.GetBytes(seed));
        int edits = rng.Next(1, 5);
        for (int e = 0; e < edits && bytes.Count > 0; e++)
        {
            int at = rng.Next(bytes.Count);
            switch (rng.Next(6))
            {
                case 0: bytes[at] = (byte)rng.Next(256); break;
                case 1: bytes.RemoveRange(at, Math.Min(rng.Next(1, 8), bytes.Count - at)); break;
                case 2: bytes.InsertRange(at, bytes.GetRange(at, Math.Min(rng.Next(1, 16), bytes.Count - at))); break;
                case 3: bytes.InsertRange(at, Encoding.UTF8.GetBytes(Tokens[rng.Next(Tokens.Length)])); break;
                case 4: bytes.RemoveRange(at, bytes.Count - at); break;
                default: bytes[at] = (byte)"{}[]:,\"0123456789-.e "[rng.Next(21)]; break;
            }
        }
        return Encoding.UTF8.GetString([.. bytes]);
    }
}
