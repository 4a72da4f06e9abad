using System.Text.Json;
using LoraGen.Tokenization;

namespace LoraGen.Cli;

/// <summary>Training text for <c>loragen finetune</c>: a plain text file, or JSONL with a "text" field per line; documents end with eos.</summary>
internal static class FineTuneData
{
    public static List<int> Tokens(string path, HfTokenizer tokenizer)
    {
        if (!File.Exists(path)) throw CliException.Input($"{path}: no such data file.");
        var docs = new List<string>();
        if (path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
        {
            int lineNo = 0;
            foreach (var line in File.ReadLines(path))
            {
                lineNo++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                try
                {
                    using var doc = JsonDocument.Parse(line);
                    if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("text", out var t) || t.ValueKind != JsonValueKind.String)
                        throw CliException.Input($"{path}:{lineNo}: expected an object with a string field \"text\".");
                    docs.Add(t.GetString()!);
                }
                catch (JsonException e)
                {
                    throw CliException.Input($"{path}:{lineNo}: not JSON ({e.Message}).", e);
                }
            }
        }
        else docs.Add(File.ReadAllText(path));
        var tokens = new List<int>();
        foreach (var d in docs)
        {
            tokens.AddRange(tokenizer.Encode(d));
            if (tokenizer.EosId is { } eos) tokens.Add(eos);
        }
        if (tokens.Count < 4) throw CliException.Input($"{path}: {tokens.Count} tokens; too little text to train on.");
        return tokens;
    }
}
