using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace LoraGen.Tokenization;

/// <summary>
/// A Hugging Face model's tokenizer on Microsoft.ML.Tokenizers, read from its model directory: <c>tokenizer.json</c>
/// with a BPE model (Llama 3, SmolLM2, GPT-2 — vocabulary and merges read into the library's byte-level BPE
/// tokenizer), or <c>vocab.json</c> + <c>merges.txt</c> (GPT-2), or a SentencePiece <c>tokenizer.model</c> (Llama 2,
/// TinyLlama — the library's Llama tokenizer). Special tokens come from <c>tokenizer_config.json</c>. Backend-neutral.
/// </summary>
public sealed class HfTokenizer
{
    /// <summary>GPT-2's pre-tokenization pattern (contractions, letters, digits, other, spaces).</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly Tokenizer _tokenizer;
    private readonly IReadOnlyDictionary<string, int> _special;

    private HfTokenizer(Tokenizer tokenizer, IReadOnlyDictionary<string, int> special, TokenizerConfig config, string kind)
    {
        _tokenizer = tokenizer;
        _special = special;
        Config = config;
        Kind = kind;
        BosId = config.BosToken is { } b && special.TryGetValue(b, out int bi) ? bi : tokenizer.EncodeToIds(config.BosToken ?? "").SingleOrNull();
        EosId = config.EosToken is { } e && special.TryGetValue(e, out int ei) ? ei : tokenizer.EncodeToIds(config.EosToken ?? "").SingleOrNull();
    }

    /// <summary>The library tokenizer underneath.</summary>
    public Tokenizer Inner => _tokenizer;

    /// <summary>Which file it was read from: "tokenizer.json", "vocab.json+merges.txt" or "tokenizer.model".</summary>
    public string Kind { get; }

    /// <summary>The special tokens of tokenizer_config.json.</summary>
    public TokenizerConfig Config { get; }

    /// <summary>The beginning-of-sequence id, or null.</summary>
    public int? BosId { get; }

    /// <summary>The end-of-sequence id, or null.</summary>
    public int? EosId { get; }

    /// <summary>Special tokens by text.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens => _special;

    /// <summary>Text → ids; <paramref name="addBos"/> prepends the bos id (when there is one).</summary>
    public int[] Encode(string text, bool addBos = false)
    {
        var ids = _tokenizer.EncodeToIds(text).ToList();
        if (addBos && BosId is { } b && (ids.Count == 0 || ids[0] != b)) ids.Insert(0, b);
        return ids.ToArray();
    }

    /// <summary>Ids → text (special tokens included as their text).</summary>
    public string Decode(IEnumerable<int> ids) => _tokenizer.Decode(ids) ?? "";

    /// <summary>Reads the tokenizer of <paramref name="modelDirectory"/>; a clear error names the file when none can be read.</summary>
    public static HfTokenizer Load(string modelDirectory)
    {
        string cfgPath = Path.Combine(modelDirectory, "tokenizer_config.json");
        var config = File.Exists(cfgPath) ? TokenizerConfig.Parse(ReadText(cfgPath), cfgPath) : TokenizerConfig.Empty;
        string json = Path.Combine(modelDirectory, "tokenizer.json");
        if (File.Exists(json)) return FromTokenizerJson(ReadText(json), json, config);
        string vocab = Path.Combine(modelDirectory, "vocab.json"), merges = Path.Combine(modelDirectory, "merges.txt");
        if (File.Exists(vocab) && File.Exists(merges)) return FromVocabAndMerges(ReadText(vocab), vocab, ReadText(merges), merges, config);
        string sp = Path.Combine(modelDirectory, "tokenizer.model");
        if (File.Exists(sp)) return FromSentencePiece(sp, config);
        throw new TokenizerFileException(modelDirectory, null, "no tokenizer: expected tokenizer.json, vocab.json + merges.txt, or tokenizer.model");
    }

    /// <summary>A tokenizer.json; only BPE models are read (others are named in the error).</summary>
    public static HfTokenizer FromTokenizerJson(string json, string file, TokenizerConfig config)
    {
        try
        {
            return FromTokenizerJsonChecked(json, file, config);
        }
        catch (InvalidOperationException e)   // System.Text.Json reports a lone surrogate in a string lazily
        {
            throw new TokenizerFileException(file, null, $"holds a string that is not valid Unicode ({e.Message})", e);
        }
    }

    private static HfTokenizer FromTokenizerJsonChecked(string json, string file, TokenizerConfig config)
    {
        using var doc = TokenizerJson.Parse(json, file);
        var root = doc.RootElement;
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object) throw new TokenizerFileException(file, "model", "required object is missing");
        string type = model.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "(none)";
        if (type != "BPE") throw new TokenizerFileException(file, "model.type", $"\"{type}\" tokenizers are not supported; supported: BPE");
        if (!model.TryGetProperty("vocab", out var v)) throw new TokenizerFileException(file, "model.vocab", "required field is missing");
        var vocab = TokenizerJson.Vocab(v, file, "model.vocab");
        if (!model.TryGetProperty("merges", out var m) || m.ValueKind != JsonValueKind.Array) throw new TokenizerFileException(file, "model.merges", "expected an array");
        var merges = new List<(string, string)>();
        int i = 0;
        foreach (var item in m.EnumerateArray())
        {
            string key = $"model.merges[{i++}]";
            if (item.ValueKind == JsonValueKind.String) merges.Add(TokenizerJson.Merge(item.GetString()!, file, key));
            else if (item.ValueKind == JsonValueKind.Array && item.GetArrayLength() == 2 && item[0].ValueKind == JsonValueKind.String && item[1].ValueKind == JsonValueKind.String)
                merges.Add((item[0].GetString()!, item[1].GetString()!));
            else throw new TokenizerFileException(file, key, "expected \"a b\" or [\"a\", \"b\"]");
        }
        var special = new Dictionary<string, int>(StringComparer.Ordinal);
        if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
        {
            int j = 0;
            foreach (var a in added.EnumerateArray())
            {
                string key = $"added_tokens[{j++}]";
                if (a.ValueKind != JsonValueKind.Object || !a.TryGetProperty("id", out var id) || !id.TryGetInt32(out int idv) || idv < 0
                    || !a.TryGetProperty("content", out var c) || c.ValueKind != JsonValueKind.String || c.GetString()!.Length == 0)
                    throw new TokenizerFileException(file, key, "expected {\"id\": int, \"content\": non-empty string}");
                special[c.GetString()!] = idv;
            }
        }
        string pattern = PreTokenizerPattern(root, file);
        return new HfTokenizer(ByteLevelBpe(vocab, merges, special, pattern, file), special, config, "tokenizer.json");
    }

    /// <summary>GPT-2's vocab.json + merges.txt (first line "#version…" skipped).</summary>
    public static HfTokenizer FromVocabAndMerges(string vocabJson, string vocabFile, string mergesText, string mergesFile, TokenizerConfig config)
    {
        Dictionary<string, int> vocab;
        try
        {
            using var doc = TokenizerJson.Parse(vocabJson, vocabFile);
            vocab = TokenizerJson.Vocab(doc.RootElement, vocabFile, "vocab");
        }
        catch (InvalidOperationException e)   // System.Text.Json reports a lone surrogate in a string lazily
        {
            throw new TokenizerFileException(vocabFile, null, $"holds a string that is not valid Unicode ({e.Message})", e);
        }
        var merges = new List<(string, string)>();
        var lines = mergesText.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.Length == 0 || (i == 0 && line.StartsWith("#version", StringComparison.Ordinal))) continue;
            merges.Add(TokenizerJson.Merge(line, mergesFile, $"line {i + 1}"));
        }
        var special = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (id, text) in config.AddedTokens) special[text] = id;
        foreach (var tok in new[] { config.BosToken, config.EosToken, config.UnkToken, config.PadToken })
            if (tok is not null && vocab.TryGetValue(tok, out int id)) special[tok] = id;
        return new HfTokenizer(ByteLevelBpe(vocab, merges, special, Gpt2Pattern, mergesFile), special, config, "vocab.json+merges.txt");
    }

    /// <summary>A SentencePiece tokenizer.model through the library's Llama tokenizer.</summary>
    public static HfTokenizer FromSentencePiece(string path, TokenizerConfig config)
    {
        try
        {
            using var s = File.OpenRead(path);
            var tok = LlamaTokenizer.Create(s, addBeginOfSentence: false, addEndOfSentence: false);
            var special = new Dictionary<string, int>(StringComparer.Ordinal);
            if (tok.SpecialTokens is { } st) foreach (var (k, v) in st) special[k] = v;
            if (tok.BeginningOfSentenceToken is { } bos) special[bos] = tok.BeginningOfSentenceId;
            if (tok.EndOfSentenceToken is { } eos) special[eos] = tok.EndOfSentenceId;
            return new HfTokenizer(tok, special, config, "tokenizer.model");
        }
        catch (Exception e) when (e is not TokenizerFileException)
        {
            throw new TokenizerFileException(path, null, $"not a SentencePiece model the Llama tokenizer can read ({e.Message})", e);
        }
    }

    /// <summary>
    /// A byte-level BPE tokenizer (GPT-2's byte → character mapping) from vocabulary and merges; special tokens are
    /// matched whole before pre-tokenization with <paramref name="pattern"/>.
    /// </summary>
    public static Tokenizer ByteLevelBpe(IReadOnlyDictionary<string, int> vocab, IReadOnlyList<(string, string)> merges,
        IReadOnlyDictionary<string, int> special, string pattern, string file)
    {
        for (int i = 0; i < merges.Count; i++)
        {
            var (a, b) = merges[i];
            if (!vocab.ContainsKey(a) || !vocab.ContainsKey(b) || !vocab.ContainsKey(a + b))
                throw new TokenizerFileException(file, $"merge {i} (\"{a} {b}\")", "names a token that is not in the vocabulary");
        }
        Regex regex;
        try
        {
            regex = new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(5));
        }
        catch (ArgumentException e)
        {
            throw new TokenizerFileException(file, "pre_tokenizer", $"the split pattern is not a .NET regular expression ({e.Message})", e);
        }
        var all = vocab.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        foreach (var (k, v) in special) all.TryAdd(k, v);
        try
        {
            return BpeTokenizer.Create(new BpeOptions(all)
            {
                Merges = merges.Select(m => m.Item1 + " " + m.Item2),
                ByteLevel = true,
                PreTokenizer = new RegexPreTokenizer(regex, special.Count == 0 ? null : special.ToDictionary()),
                SpecialTokens = special.Count == 0 ? null : special.ToDictionary(),
            });
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new TokenizerFileException(file, null, $"the BPE model cannot be built ({e.Message})", e);
        }
    }

    /// <summary>The split pattern of a tokenizer.json pre_tokenizer: a Split's regex (Llama 3), else GPT-2's.</summary>
    private static string PreTokenizerPattern(JsonElement root, string file)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pt) || pt.ValueKind != JsonValueKind.Object) return Gpt2Pattern;
        IEnumerable<JsonElement> steps = pt.TryGetProperty("pretokenizers", out var list) && list.ValueKind == JsonValueKind.Array ? list.EnumerateArray() : [pt];
        foreach (var s in steps)
            if (s.ValueKind == JsonValueKind.Object && s.TryGetProperty("type", out var ty) && ty.ValueKind == JsonValueKind.String && ty.GetString() == "Split"
                && s.TryGetProperty("pattern", out var p) && p.ValueKind == JsonValueKind.Object && p.TryGetProperty("Regex", out var r) && r.ValueKind == JsonValueKind.String)
                return r.GetString()!;
        return Gpt2Pattern;
    }

    private static string ReadText(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TokenizerFileException(path, null, $"cannot be read ({e.Message})", e);
        }
    }
}
