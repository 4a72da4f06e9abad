using System.Diagnostics;
using System.Text;
using LoraGen.Hub;
using LoraGen.Tokenization;

namespace LoraGen.Models.Tests;

/// <summary>
/// The seeded, bounded fuzzer of a model directory's input surfaces (config.json, model.safetensors.index.json,
/// tokenizer.json, vocab.json + merges.txt, tokenizer_config.json), shared by <c>FuzzTests</c> (10,000 cases a
/// surface in CI) and the benchmark command <c>fuzz-models</c> (100,000), which links this file. Each mutated input
/// must parse or throw the surface's typed error, finish within a hang bound, and allocate at most a fixed amount plus
/// a multiple of its size.
/// </summary>
public static class ModelFuzz
{
    /// <summary>A case running longer than this counts as a hang.</summary>
    public static readonly TimeSpan HangBound = TimeSpan.FromSeconds(10);

    private static readonly string[] Tokens =
    [
        "{", "}", "[", "]", ",", ":", "\"", "null", "true", "false", "-1", "0", "1e309", "NaN", "-0.0", "1.5", "\"\"",
        "99999999999999999999", "\\u0000", "\\ud800", "[[[[[[[[", "]]]]]]]]", "{\"a\":", "\u00e9", "\uffff", " ", "\n",
        "\"model_type\"", "\"llama\"", "\"gpt2\"", "\"rope_scaling\"", "\"weight_map\"", "\"merges\"", "\"vocab\"", "\"type\"", "\"BPE\"",
    ];

    /// <summary>One input surface: its seeds, its parser, its typed error and its allocation bound.</summary>
    public sealed record Surface(string Name, string[] Seeds, Action<string> Parse, Func<Exception, bool> Typed, long BytesPerInputByte, long FixedBytes = 64 * 1024);

    /// <summary>What a run found: counts, and up to five failures (untyped error, hang, allocation over the bound).</summary>
    public sealed record Result(string Surface, int Cases, int Parsed, int Rejected, IReadOnlyList<string> Failures, double Seconds, long MaxAllocated, double MaxMilliseconds);

    // The two BPE surfaces build a tokenizer from what parses: a small seed keeps each case cheap.
    private const string SmallTokenizerJson = """
        {"added_tokens": [{"id": 9, "content": "<s>", "special": true}],
         "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\s?\\p{L}+|\\s+|."}}]},
         "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "Ġ": 3, "ab": 4, "abc": 5, "Ġa": 6, "!": 7, "bc": 8},
                   "merges": ["a b", "ab c", ["Ġ", "a"], "b c"]}}
        """;

    /// <summary>The five surfaces, seeded from the fixtures under <paramref name="fixturesRoot"/> (Fixtures/hf).</summary>
    public static IReadOnlyList<Surface> Surfaces(string fixturesRoot)
    {
        string Seed(string fixture, string file) => File.ReadAllText(Path.Combine(fixturesRoot, fixture, file));
        return
        [
            new("config.json", [Seed("gpt2", "config.json"), Seed("llama", "config.json"), Seed("llama3-tied", "config.json")],
                s => HfConfig.Parse(s, "config.json"), e => e is ModelFileException, 200),
            new("model.safetensors.index.json", [Seed("llama", "model.safetensors.index.json")],
                s => ShardIndex.Parse(s, "index.json"), e => e is ModelFileException, 200),
            new("tokenizer_config.json", [Seed("gpt2", "tokenizer_config.json"), Seed("llama", "tokenizer_config.json"), Seed("sentencepiece", "tokenizer_config.json")],
                s => TokenizerConfig.Parse(s, "tokenizer_config.json"), e => e is TokenizerFileException, 200),
            new("tokenizer.json", [SmallTokenizerJson],
                s => HfTokenizer.FromTokenizerJson(s, "tokenizer.json", TokenizerConfig.Empty).Encode("abc a!"), e => e is TokenizerFileException,
                2_000, 2_000_000),
            new("vocab.json + merges.txt", ["{\"a\": 0, \"b\": 1, \"c\": 2, \"Ġ\": 3, \"ab\": 4, \"abc\": 5, \"Ġa\": 6}\u0001#version: 0.2\na b\nab c\nĠ a\n"],
                s =>
                {
                    // One input holds both files, split at \u0001, so mutations reach either.
                    int cut = s.IndexOf('\u0001');
                    string vocab = cut < 0 ? s : s[..cut], merges = cut < 0 ? "" : s[(cut + 1)..];
                    HfTokenizer.FromVocabAndMerges(vocab, "vocab.json", merges, "merges.txt", TokenizerConfig.Empty).Encode("abc a");
                },
                e => e is TokenizerFileException, 2_000, 2_000_000),
        ];
    }

    /// <summary>Runs <paramref name="cases"/> mutated inputs of <paramref name="surface"/> (seeded by its name); stops after five failures.</summary>
    public static Result Run(Surface surface, int cases)
    {
        var rng = new Random(20261130 ^ surface.Name.Length);
        var failures = new List<string>();
        var total = Stopwatch.StartNew();
        int parsed = 0, rejected = 0, done = 0;
        long maxAllocated = 0;
        double maxMs = 0;
        for (int i = 0; i < cases && failures.Count < 5; i++, done++)
        {
            string input = Mutate(surface.Seeds[rng.Next(surface.Seeds.Length)], rng);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var watch = Stopwatch.StartNew();
            try
            {
                surface.Parse(input);
                parsed++;
            }
            catch (Exception e) when (surface.Typed(e) && !string.IsNullOrWhiteSpace(e.Message))
            {
                rejected++;
            }
            catch (Exception e)
            {
                failures.Add($"case {i}: {e.GetType().Name}: {e.Message}\n  input: {input}");
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            maxAllocated = Math.Max(maxAllocated, allocated);
            maxMs = Math.Max(maxMs, watch.Elapsed.TotalMilliseconds);
            if (watch.Elapsed > HangBound) failures.Add($"case {i} took {watch.ElapsedMilliseconds} ms: {input}");
            if (allocated > surface.FixedBytes + surface.BytesPerInputByte * input.Length)
                failures.Add($"case {i} allocated {allocated:N0} bytes for {input.Length} chars");
        }
        return new Result(surface.Name, done, parsed, rejected, failures, total.Elapsed.TotalSeconds, maxAllocated, maxMs);
    }

    /// <summary>1–4 edits: byte flips, deletions, duplications, token insertions, truncation; decoded as UTF-8 (lossy).</summary>
    public static string Mutate(string seed, Random rng)
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
