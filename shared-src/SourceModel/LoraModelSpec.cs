using System.Collections.Generic;
using System.Globalization;
using LoraGen.Contract;
using Microsoft.CodeAnalysis;

namespace LoraGen.SourceModel
{
    /// <summary>The values of a <c>[LoraModel]</c> attribute.</summary>
    internal readonly record struct LoraModelSpec(
        LoraSpec Defaults,
        EquatableArray<string> Targets,
        EquatableArray<PatternEntry> RankPattern,
        EquatableArray<PatternEntry> AlphaPattern,
        string? BaseModelName,
        int BaseQuantization = 0)
    {
        public static LoraModelSpec Read(AttributeData attribute)
        {
            var defaults = LoraSpec.Read(attribute);
            var targets = new List<string>();
            var rank = new List<PatternEntry>();
            var alpha = new List<PatternEntry>();
            string? baseName = null;
            int quantization = 0;
            foreach (var arg in attribute.NamedArguments)
            {
                switch (arg.Key)
                {
                    case RuntimeNames.TargetsProperty: targets.AddRange(Strings(arg.Value)); break;
                    case RuntimeNames.RankPatternProperty: rank.AddRange(Patterns(arg.Value)); break;
                    case RuntimeNames.AlphaPatternProperty: alpha.AddRange(Patterns(arg.Value)); break;
                    case RuntimeNames.BaseModelNameProperty when arg.Value.Value is string s: baseName = s; break;
                    case RuntimeNames.BaseQuantizationProperty when arg.Value.Value is int q: quantization = q; break;
                }
            }
            return new LoraModelSpec(defaults, new(targets.ToArray()), new(rank.ToArray()), new(alpha.ToArray()), baseName, quantization);
        }

        public static IEnumerable<string> Strings(TypedConstant value)
        {
            if (value.Kind != TypedConstantKind.Array || value.IsNull) yield break;
            foreach (var v in value.Values) if (v.Value is string s) yield return s;
        }

        private static IEnumerable<PatternEntry> Patterns(TypedConstant value)
        {
            foreach (var s in Strings(value))
                if (TryParsePattern(s, out var entry)) yield return entry;
        }

        /// <summary>Parses <c>"name=value"</c>; the analyzer reports entries that do not parse.</summary>
        public static bool TryParsePattern(string text, out PatternEntry entry)
        {
            entry = default;
            int eq = text.IndexOf('=');
            if (eq <= 0) return false;
            var name = text.Substring(0, eq).Trim();
            if (name.Length == 0 || !double.TryParse(text.Substring(eq + 1).Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v)) return false;
            entry = new PatternEntry(name, v);
            return true;
        }
    }
}
