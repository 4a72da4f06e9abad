using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using LoraGen.Contract;
using LoraGen.Generators.Model;
using LoraGen.SourceModel;
using Microsoft.CodeAnalysis.CSharp;

namespace LoraGen.Generators.Emitting
{
    /// <summary>How values, names and settings are written as C# text: shared by both backends' emitters.</summary>
    internal static class CodeText
    {
        /// <summary>The dictionary type of rank patterns.</summary>
        public const string IntDictionary = "global::System.Collections.Generic.Dictionary<string, int>";

        /// <summary>The dictionary type of alpha patterns.</summary>
        public const string DoubleDictionary = "global::System.Collections.Generic.Dictionary<string, double>";

        /// <summary>The <c>[LoraModel]</c> options' name-selection arguments, one per line (indented as the options' other arguments), shared by both backends.</summary>
        public static string OptionsArguments(LoraModelSpec s) =>
            $"Targets: {Initializer("string[]", s.Targets.Select(Literal))},\n" +
            $"    RankPattern: {Initializer(IntDictionary, s.RankPattern.Select(p => $"[{Literal(p.Name)}] = {((int)p.Value).ToString(CultureInfo.InvariantCulture)}"))},\n" +
            $"    AlphaPattern: {Initializer(DoubleDictionary, s.AlphaPattern.Select(p => $"[{Literal(p.Name)}] = {Number(p.Value)}"))},\n" +
            $"    BaseModelName: {(s.BaseModelName is null ? "null" : Literal(s.BaseModelName))}";

        /// <summary>The body of the <c>LoraKeys</c> class: A and B key constants of every adapted layer, built with <see cref="PeftKeys"/>.</summary>
        public static void WriteKeyConstants(SourceWriter w, IEnumerable<AdapterKeyModel> keys)
        {
            var used = new HashSet<string>();
            foreach (var k in keys)
            {
                var id = Identifier(k.PathTemplate, used);
                bool embedding = k.Kind == AdaptableKind.Embedding;
                string path = Xml(k.PathTemplate);
                w.WriteLine($"""
                    /// <summary>A of <c>{path}</c> ({(embedding ? "Embedding: [r, num_embeddings]" : "Linear: [r, in]")}).</summary>
                    public const string {id}_A = {Literal(PeftKeys.A(k.PathTemplate, embedding))};
                    /// <summary>B of <c>{path}</c> ({(embedding ? "Embedding: [dim, r]" : "Linear: [out, r]")}).</summary>
                    public const string {id}_B = {Literal(PeftKeys.B(k.PathTemplate, embedding))};
                    """);
            }
        }

        /// <summary>
        /// A construction of <paramref name="configType"/> (either backend's LoraConfig) with every setting named; the
        /// variant (<c>UseDora</c>, <c>Variant</c>, <c>NolaBases</c>) only when it is not the default, so plain-LoRA code reads as before.
        /// </summary>
        public static string NewConfig(string configType, LoraSpec s) =>
            $"new {configType}(Rank: {s.Rank.ToString(CultureInfo.InvariantCulture)}, Alpha: {Number(s.Alpha)}, Dropout: {Number(s.Dropout)}, " +
            $"Init: {EnumNames.Member(EnumNames.LoraInitType, EnumNames.LoraInit, s.Init)}, UseRsLora: {Bool(s.UseRsLora)}" +
            (s.UseDora ? $", {RuntimeNames.UseDoraProperty}: {Bool(true)}" : "") +
            (s.Variant != AttributeDefaults.Variant ? $", {RuntimeNames.VariantProperty}: {EnumNames.Member(EnumNames.LoraVariantType, EnumNames.LoraVariant, s.Variant)}" : "") +
            (s.NolaBases != AttributeDefaults.NolaBases ? $", {RuntimeNames.NolaBasesProperty}: {s.NolaBases.ToString(CultureInfo.InvariantCulture)}" : "") + ")";

        public static string BiasMember(int bias) => EnumNames.Member(EnumNames.LoraBiasType, EnumNames.LoraBias, bias);

        /// <summary>A C# identifier for a key constant: the path's letters, digits and underscores, dots as underscores, unique.</summary>
        public static string Identifier(string pathTemplate, HashSet<string> used)
        {
            var sb = new StringBuilder();
            foreach (var ch in pathTemplate)
            {
                if (char.IsLetterOrDigit(ch) || ch == '_') sb.Append(ch);
                else if (ch == '.' && (sb.Length == 0 || sb[sb.Length - 1] != '_')) sb.Append('_');
            }
            var id = sb.ToString().Trim('_');
            if (id.Length == 0 || char.IsDigit(id[0])) id = "_" + id;
            var unique = id;
            for (int n = 2; !used.Add(unique); n++) unique = id + "_" + n;
            return unique;
        }

        public static string Initializer(string type, IEnumerable<string> items)
        {
            var list = items.ToList();
            if (list.Count == 0) return type == "string[]" ? "global::System.Array.Empty<string>()" : $"new {type}()";
            return $"new {type} {{ {string.Join(", ", list)} }}";
        }

        /// <summary>A name as it must be written in code: <c>@</c>-prefixed when it is a keyword (models hold the plain name).</summary>
        public static string Escape(string name) => SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;

        /// <summary>A declared type name (<c>Name</c> or <c>Name&lt;T, U&gt;</c>) with each identifier escaped (<c>@class</c>).</summary>
        public static string EscapeDecl(string name)
        {
            int lt = name.IndexOf('<');
            if (lt < 0) return Escape(name);
            var parameters = name.Substring(lt + 1, name.Length - lt - 2).Split(',').Select(p => Escape(p.Trim()));
            return Escape(name.Substring(0, lt)) + "<" + string.Join(", ", parameters) + ">";
        }

        /// <summary>A C# string literal: every character a user string can hold (quotes, newlines, controls) escaped.</summary>
        public static string Literal(string s) => SymbolDisplay.FormatLiteral(s, quote: true);

        /// <summary>
        /// Text for a one-line XML doc comment (paths can hold any character a <c>[ModuleName]</c> gives them): markup
        /// characters as entities, and line breaks and other control or separator characters as character references,
        /// so a name can neither break the XML nor end the comment and start code.
        /// </summary>
        public static string Xml(string s)
        {
            var sb = new StringBuilder(s.Length);
            foreach (var ch in s)
            {
                switch (ch)
                {
                    case '&': sb.Append("&amp;"); break;
                    case '<': sb.Append("&lt;"); break;
                    case '>': sb.Append("&gt;"); break;
                    case '"': sb.Append("&quot;"); break;
                    case '\n' or '\r' or '\u0085' or '\u2028' or '\u2029':   // line breaks C# knows: as XML character references
                        sb.Append("&#x").Append(((int)ch).ToString("X", CultureInfo.InvariantCulture)).Append(';');
                        break;
                    case '\t': sb.Append(ch); break;
                    default:
                        sb.Append(char.IsControl(ch) ? '\uFFFD' : ch);   // XML 1.0 has no other control characters, not even as references
                        break;
                }
            }
            return sb.ToString();
        }

        public static string Bool(bool b) => b ? "true" : "false";

        public static string Number(double v) =>
            double.IsNaN(v) ? "double.NaN"
            : double.IsPositiveInfinity(v) ? "double.PositiveInfinity"
            : double.IsNegativeInfinity(v) ? "double.NegativeInfinity"
            : v.ToString("R", CultureInfo.InvariantCulture) + "d";
    }
}
