using System.Globalization;
using System.Text;

namespace LoraGen.SafeTensors;

/// <summary>JSON string literals as the Python side writes them: serde_json (safetensors headers) and json.dumps (PEFT configs).</summary>
internal static class JsonStrings
{
    /// <summary>
    /// Appends <paramref name="s"/> quoted: quote, backslash and control characters escaped; with
    /// <paramref name="escapeNonAscii"/> (json.dumps' ensure_ascii) every character outside printable ASCII as \uXXXX.
    /// </summary>
    public static void Append(StringBuilder sb, string s, bool escapeNonAscii)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || (escapeNonAscii && c > 0x7E)) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
