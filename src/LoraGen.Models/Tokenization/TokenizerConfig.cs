using System.Text.Json;

namespace LoraGen.Tokenization;

/// <summary>
/// The special tokens of <c>tokenizer_config.json</c>: bos/eos/unk/pad (each a string or an AddedToken object with
/// <c>content</c>), <c>add_bos_token</c>, and <c>added_tokens_decoder</c> (id → token).
/// </summary>
public sealed record TokenizerConfig
{
    /// <summary>The beginning-of-sequence token text, or null.</summary>
    public string? BosToken { get; init; }

    /// <summary>The end-of-sequence token text, or null.</summary>
    public string? EosToken { get; init; }

    /// <summary>The unknown token text, or null.</summary>
    public string? UnkToken { get; init; }

    /// <summary>The padding token text, or null.</summary>
    public string? PadToken { get; init; }

    /// <summary><c>add_bos_token</c>, or null when the file does not say.</summary>
    public bool? AddBosToken { get; init; }

    /// <summary><c>added_tokens_decoder</c>: id → token text.</summary>
    public IReadOnlyDictionary<int, string> AddedTokens { get; init; } = new Dictionary<int, string>();

    /// <summary>An empty config (no file).</summary>
    public static TokenizerConfig Empty { get; } = new();

    /// <summary>Parses the file's JSON; <paramref name="file"/> names it in errors.</summary>
    public static TokenizerConfig Parse(string json, string file)
    {
        try
        {
            return ParseChecked(json, file);
        }
        catch (InvalidOperationException e)   // System.Text.Json reports a lone surrogate in a string lazily
        {
            throw new TokenizerFileException(file, null, $"holds a string that is not valid Unicode ({e.Message})", e);
        }
    }

    private static TokenizerConfig ParseChecked(string json, string file)
    {
        using var doc = TokenizerJson.Parse(json, file);
        var root = doc.RootElement;
        var added = new Dictionary<int, string>();
        if (root.TryGetProperty("added_tokens_decoder", out var dec) && dec.ValueKind != JsonValueKind.Null)
        {
            if (dec.ValueKind != JsonValueKind.Object) throw new TokenizerFileException(file, "added_tokens_decoder", "expected an object");
            foreach (var p in dec.EnumerateObject())
            {
                if (!int.TryParse(p.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id))
                    throw new TokenizerFileException(file, "added_tokens_decoder." + p.Name, "the key must be a token id");
                added[id] = TokenText(p.Value, file, "added_tokens_decoder." + p.Name) ?? throw new TokenizerFileException(file, "added_tokens_decoder." + p.Name, "expected a token");
            }
        }
        bool? addBos = null;
        if (root.TryGetProperty("add_bos_token", out var ab) && ab.ValueKind != JsonValueKind.Null)
            addBos = ab.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw new TokenizerFileException(file, "add_bos_token", "expected true or false"),
            };
        return new TokenizerConfig
        {
            BosToken = Token(root, "bos_token", file),
            EosToken = Token(root, "eos_token", file),
            UnkToken = Token(root, "unk_token", file),
            PadToken = Token(root, "pad_token", file),
            AddBosToken = addBos,
            AddedTokens = added,
        };
    }

    private static string? Token(JsonElement root, string name, string file) =>
        root.TryGetProperty(name, out var e) ? TokenText(e, file, name) : null;

    /// <summary>A token given as a string or as an AddedToken object with "content".</summary>
    private static string? TokenText(JsonElement e, string file, string key) => e.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Object when e.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
        _ => throw new TokenizerFileException(file, key, "expected a string or an object with a string \"content\""),
    };
}
