using System.Text;

namespace TinyGpt.Lora;

/// <summary>
/// A word-level tokenizer: every word (letters and apostrophes, case kept), every punctuation mark and the line break
/// is one token. The vocabulary is built from the texts it is given (sorted, so the ids do not depend on the order
/// the words appear in). Decoding puts a space between words and none before punctuation or around line breaks.
/// </summary>
public sealed class WordTokenizer
{
    private const string Punctuation = ",;:.!?";
    private readonly string[] _tokens;
    private readonly Dictionary<string, int> _ids;

    private WordTokenizer(string[] tokens)
    {
        _tokens = tokens;
        _ids = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        for (int i = 0; i < tokens.Length; i++) _ids[tokens[i]] = i;
    }

    /// <summary>The number of distinct tokens (the model's vocabulary size).</summary>
    public int Vocab => _tokens.Length;

    /// <summary>A tokenizer whose vocabulary is every token of <paramref name="texts"/>.</summary>
    public static WordTokenizer FromTexts(params string[] texts) =>
        new(texts.SelectMany(Split).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray());

    /// <summary>Text to ids; a token outside the vocabulary is an error naming it.</summary>
    public int[] Encode(string text) =>
        Split(text).Select(t => _ids.TryGetValue(t, out int id) ? id
            : throw new ArgumentException($"'{t}' is not in the tokenizer's vocabulary of {Vocab} tokens", nameof(text))).ToArray();

    /// <summary>Ids to text: words separated by spaces, punctuation attached to the word before it.</summary>
    public string Decode(IEnumerable<int> ids)
    {
        var sb = new StringBuilder();
        string? previous = null;
        foreach (int id in ids)
        {
            string token = _tokens[id];
            bool glue = previous is null or "\n" || token == "\n" || Punctuation.Contains(token[0]);
            if (!glue) sb.Append(' ');
            sb.Append(token);
            previous = token;
        }
        return sb.ToString();
    }

    /// <summary>The words of <paramref name="text"/> (letters and apostrophes), without punctuation.</summary>
    public static IEnumerable<string> Words(string text) => Split(text).Where(t => char.IsLetter(t[0]));

    /// <summary>Splits text into words, punctuation marks and line breaks; other characters (spaces) separate tokens.</summary>
    private static IEnumerable<string> Split(string text)
    {
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (char.IsLetter(c))
            {
                int start = i;
                while (i < text.Length && (char.IsLetter(text[i]) || text[i] == '\'')) i++;
                yield return text[start..i];
            }
            else
            {
                i++;
                if (c == '\n') yield return "\n";
                else if (Punctuation.Contains(c)) yield return c.ToString();
            }
        }
    }
}
