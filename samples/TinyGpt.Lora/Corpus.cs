using System.Text;
using LoraGen.Tensors;

namespace TinyGpt.Lora;

/// <summary>
/// The two texts of the sample, generated from templates with a fixed seed (no download): corpus A is plain
/// lower-case prose, corpus B is archaic verse — capitals, line breaks, four-line stanzas — a clearly different style.
/// Like a real base model's training text, A mentions B's words now and then (one sentence in five quotes a line of
/// verse), so the base model knows the words; what it has not learned is to write in B's style.
/// </summary>
public static class Corpus
{
    private static readonly string[] Who = ["the miller", "a young sailor", "the old baker", "my neighbor", "the farmer", "a tired clerk", "the teacher", "her brother", "the fisherman", "a quiet child"];
    private static readonly string[] Did = ["walked down to", "looked across", "rode slowly past", "came back from", "talked about", "waited near", "cleaned", "painted", "sold bread at", "sat beside"];
    private static readonly string[] What = ["the river", "the market", "the small harbor", "the old mill", "the green field", "the school", "the bridge", "the bakery", "the station", "the long road"];
    private static readonly string[] When = ["at dawn", "after lunch", "in the evening", "on monday", "before the rain", "all morning", "late at night", "in the spring", "every week", "once again"];
    private static readonly string[] Then = ["and saw a heron", "and found nothing", "and felt happy", "but it was closed", "and met a friend", "and counted the boats", "and heard the bells", "because it was warm", "and forgot the time", "while the dog slept"];

    private static readonly string[] Quoted = ["read aloud:", "sang an old line:", "wrote in a letter:", "remembered a song:"];

    private static readonly string[] Opening = ["O", "Lo,", "Behold,", "Hark,", "Alas,", "Sweet"];
    private static readonly string[] Noun = ["Moon", "Rose", "Night", "Sea", "Star", "Heart", "Dawn", "Muse", "Wind", "Queen"];
    private static readonly string[] Epithet = ["thou silver lamp", "thou pale delight", "thou gentle flame", "thou restless tide", "thou fairest crown", "thou secret flower"];
    private static readonly string[] Verse = ["Thy beams are cold and bright", "Thy breath doth fill the hall", "Thy song shall never fade", "Thy light is all my own", "Thine eyes do pierce the gloom", "Thy grace doth ever bide"];
    private static readonly string[] Close = ["And I shall sing of thee.", "Till death shall set me free.", "So let my sorrow be.", "As waves upon the lee.", "Forevermore with thee.", "Whilst stars do shine on me."];

    /// <summary>Plain prose, one sentence after another.</summary>
    public static string Prose(int sentences, ulong seed)
    {
        var rng = new Rng(seed);
        var sb = new StringBuilder();
        for (int i = 0; i < sentences; i++)
        {
            if (rng.NextInt(5) == 0)
                sb.Append(Pick(rng, Who)).Append(' ').Append(Pick(rng, Quoted)).Append(' ').Append(QuotedVerse(rng)).Append(' ');
            else
                sb.Append(Pick(rng, Who)).Append(' ').Append(Pick(rng, Did)).Append(' ').Append(Pick(rng, What)).Append(' ')
                  .Append(Pick(rng, When)).Append(' ').Append(Pick(rng, Then)).Append(". ");
            if (i % 6 == 5) sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>Four-line stanzas of archaic verse.</summary>
    public static string Verse4(int stanzas, ulong seed)
    {
        var rng = new Rng(seed);
        var sb = new StringBuilder();
        for (int i = 0; i < stanzas; i++)
        {
            sb.Append(Pick(rng, Opening)).Append(' ').Append(Pick(rng, Noun)).Append(", ").Append(Pick(rng, Epithet)).Append(",\n");
            sb.Append(Pick(rng, Verse)).Append(";\n");
            sb.Append(Pick(rng, Verse)).Append(",\n");
            sb.Append(Pick(rng, Close)).Append("\n\n");
        }
        return sb.ToString();
    }

    /// <summary>One line of verse, as prose quotes it: no line break, ending in a full stop.</summary>
    private static string QuotedVerse(Rng rng) => rng.NextInt(3) switch
    {
        0 => $"{Pick(rng, Opening)} {Pick(rng, Noun)}, {Pick(rng, Epithet)}.",
        1 => $"{Pick(rng, Verse)}.",
        _ => Pick(rng, Close),
    };

    private static string Pick(Rng rng, string[] options) => options[rng.NextInt(options.Length)];
}

/// <summary>Characters to ids: '\n' is 0, printable ASCII 32..126 are 1..95 (96 symbols).</summary>
public static class CharTokenizer
{
    public const int Vocab = 96;

    public static int[] Encode(string text)
    {
        var ids = new int[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            ids[i] = c == '\n' ? 0 : c is >= ' ' and <= '~' ? c - ' ' + 1 : '?' - ' ' + 1;
        }
        return ids;
    }

    public static string Decode(IEnumerable<int> ids) => new(ids.Select(i => i == 0 ? '\n' : (char)(i - 1 + ' ')).ToArray());
}

/// <summary>A token stream split into training and validation parts, with random windows as batches.</summary>
public sealed class Dataset(int[] tokens, double trainFraction = 0.9)
{
    private readonly int _split = (int)(tokens.Length * trainFraction);

    /// <summary>A batch of <paramref name="b"/> random windows: inputs and next-token targets, each [b·t].</summary>
    public (int[] X, int[] Y) Batch(Rng rng, int b, int t, bool validation = false)
    {
        int lo = validation ? _split : 0, hi = validation ? tokens.Length : _split;
        var x = new int[b * t];
        var y = new int[b * t];
        for (int i = 0; i < b; i++)
        {
            int start = lo + rng.NextInt(hi - lo - t - 1);
            Array.Copy(tokens, start, x, i * t, t);
            Array.Copy(tokens, start + 1, y, i * t, t);
        }
        return (x, y);
    }
}
