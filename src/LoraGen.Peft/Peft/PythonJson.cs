using System.Globalization;
using System.Text;
using System.Text.Json;
using LoraGen.SafeTensors;

namespace LoraGen.Peft;

/// <summary>
/// Writes JSON the way Python's <c>json.dumps(value, indent=2, sort_keys=True)</c> does, which is how PEFT writes
/// <c>adapter_config.json</c>: two-space indentation, <c>"key": value</c>, keys sorted by code point at every
/// level, empty containers as <c>[]</c>/<c>{}</c>, non-ASCII escaped as <c>\uXXXX</c> (ensure_ascii), no final
/// newline. Values: null, bool, string, <see cref="Number"/> (a literal written as it is), <see cref="JsonElement"/>
/// (numbers keep their literal), lists of values and lists of key/value pairs (objects).
/// </summary>
internal static class PythonJson
{
    /// <summary>A number literal written as it is.</summary>
    public readonly record struct Number(string Literal);

    /// <summary>A JSON object as an ordered list of members (written sorted).</summary>
    public sealed class Object(IEnumerable<KeyValuePair<string, object?>> members)
    {
        public IReadOnlyList<KeyValuePair<string, object?>> Members { get; } = members.ToList();
    }

    /// <summary>The text of <paramref name="value"/> when it sits at nesting depth <paramref name="level"/>.</summary>
    public static string Render(object? value, int level = 0)
    {
        var sb = new StringBuilder();
        Write(sb, value, level);
        return sb.ToString();
    }

    public static void Write(StringBuilder sb, object? value, int level)
    {
        switch (value)
        {
            case null: sb.Append("null"); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case string s: WriteString(sb, s); break;
            case Number n: sb.Append(n.Literal); break;
            case int i: sb.Append(i.ToString(CultureInfo.InvariantCulture)); break;
            case JsonElement e: WriteElement(sb, e, level); break;
            case Object o: WriteObject(sb, o.Members.Select(m => (m.Key, (Action<int>)(l => Write(sb, m.Value, l)))).ToList(), level); break;
            case System.Collections.IEnumerable list:
                var items = new List<Action<int>>();
                foreach (var item in list) items.Add(l => Write(sb, item, l));
                WriteArray(sb, items, level);
                break;
            default: throw new ArgumentException($"Cannot write a {value.GetType().Name} as JSON.");
        }
    }

    private static void WriteElement(StringBuilder sb, JsonElement e, int level)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                // json.load keeps the last of duplicate keys.
                var members = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
                foreach (var p in e.EnumerateObject()) members[p.Name] = p.Value;
                WriteObject(sb, members.Select(m => (m.Key, (Action<int>)(l => WriteElement(sb, m.Value, l)))).ToList(), level);
                break;
            case JsonValueKind.Array:
                WriteArray(sb, e.EnumerateArray().Select(x => (Action<int>)(l => WriteElement(sb, x, l))).ToList(), level);
                break;
            case JsonValueKind.String: WriteString(sb, e.GetString()!); break;
            case JsonValueKind.Number: sb.Append(e.GetRawText()); break;
            case JsonValueKind.True: sb.Append("true"); break;
            case JsonValueKind.False: sb.Append("false"); break;
            default: sb.Append("null"); break;
        }
    }

    private static void WriteObject(StringBuilder sb, List<(string Key, Action<int> Value)> members, int level)
    {
        if (members.Count == 0) { sb.Append("{}"); return; }
        members.Sort((a, b) => CompareKeys(a.Key, b.Key));
        sb.Append('{');
        for (int i = 0; i < members.Count; i++)
        {
            if (i > 0) sb.Append(',');
            NewLine(sb, level + 1);
            WriteString(sb, members[i].Key);
            sb.Append(": ");
            members[i].Value(level + 1);
        }
        NewLine(sb, level);
        sb.Append('}');
    }

    private static void WriteArray(StringBuilder sb, List<Action<int>> items, int level)
    {
        if (items.Count == 0) { sb.Append("[]"); return; }
        sb.Append('[');
        for (int i = 0; i < items.Count; i++)
        {
            if (i > 0) sb.Append(',');
            NewLine(sb, level + 1);
            items[i](level + 1);
        }
        NewLine(sb, level);
        sb.Append(']');
    }

    private static void NewLine(StringBuilder sb, int level) => sb.Append('\n').Append(' ', 2 * level);

    /// <summary>Python's str ordering: by code point (differs from UTF-16 ordinal order only around surrogates).</summary>
    public static int CompareKeys(string a, string b)
    {
        int i = 0, j = 0;
        while (i < a.Length && j < b.Length)
        {
            int ca = CodePoint(a, ref i), cb = CodePoint(b, ref j);
            if (ca != cb) return ca.CompareTo(cb);
        }
        return (a.Length - i).CompareTo(b.Length - j);
    }

    private static int CodePoint(string s, ref int index)
    {
        char c = s[index++];
        if (char.IsHighSurrogate(c) && index < s.Length && char.IsLowSurrogate(s[index]))
            return char.ConvertToUtf32(c, s[index++]);
        return c;
    }

    /// <summary>A string as json.dumps writes it with ensure_ascii: only printable ASCII stays as it is.</summary>
    public static void WriteString(StringBuilder sb, string s) => JsonStrings.Append(sb, s, escapeNonAscii: true);

    /// <summary>Python's <c>repr(float)</c>: the shortest round-trip digits, "0.05", "16.0", "1e-05", "1e+16".</summary>
    public static string Float(double d)
    {
        if (double.IsNaN(d)) return "NaN";
        if (double.IsPositiveInfinity(d)) return "Infinity";
        if (double.IsNegativeInfinity(d)) return "-Infinity";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";
        // Shortest round-trip digits and the decimal exponent, from .NET's "E16"-free shortest form ("R").
        string r = Math.Abs(d).ToString("R", CultureInfo.InvariantCulture);
        int exp = 0;
        int e = r.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            exp = int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            r = r[..e];
        }
        int dot = r.IndexOf('.');
        string digits = dot < 0 ? r : r.Remove(dot, 1);
        int pointPos = (dot < 0 ? r.Length : dot) + exp;   // the decimal point sits after this many digits
        int lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0') { lead++; pointPos--; }
        digits = digits[lead..].TrimEnd('0');
        if (digits.Length == 0) digits = "0";
        var sb = new StringBuilder(d < 0 ? "-" : "");
        if (pointPos > -4 && pointPos <= 16)
        {
            if (pointPos <= 0) sb.Append("0.").Append('0', -pointPos).Append(digits);
            else if (pointPos >= digits.Length) sb.Append(digits).Append('0', pointPos - digits.Length).Append(".0");
            else sb.Append(digits, 0, pointPos).Append('.').Append(digits, pointPos, digits.Length - pointPos);
        }
        else
        {
            sb.Append(digits[0]);
            if (digits.Length > 1) sb.Append('.').Append(digits, 1, digits.Length - 1);
            int x = pointPos - 1;
            sb.Append('e').Append(x < 0 ? '-' : '+').Append(Math.Abs(x).ToString("00", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary>An integral value as a Python int ("16"), anything else as <see cref="Float"/>.</summary>
    public static string IntOrFloat(double d) =>
        Math.Abs(d) < 1e15 && d == Math.Floor(d) && !(d == 0 && double.IsNegative(d))
            ? ((long)d).ToString(CultureInfo.InvariantCulture)
            : Float(d);
}
