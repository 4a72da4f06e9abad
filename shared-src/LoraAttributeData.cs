using System;
using System.Collections.Generic;
using System.Globalization;
using Microsoft.CodeAnalysis;

namespace LoraGen.SourceModel
{
    /// <summary>The values of a <c>[Lora]</c> attribute, defaults applied (Alpha unset means Alpha = Rank).</summary>
    internal readonly record struct LoraSpec(int Rank, double Alpha, double Dropout, int Init, bool UseRsLora, int Bias, string? Name)
    {
        public static LoraSpec Read(AttributeData attribute)
        {
            int rank = 8, init = 0, bias = 0;
            double? alpha = null;
            double dropout = 0;
            bool rs = false;
            string? name = null;
            foreach (var arg in attribute.NamedArguments)
            {
                var v = arg.Value.Kind == TypedConstantKind.Array ? null : arg.Value.Value;
                switch (arg.Key)
                {
                    case "Rank" when v is int r: rank = r; break;
                    case "Alpha" when v is not null: alpha = Convert.ToDouble(v, CultureInfo.InvariantCulture); break;
                    case "Dropout" when v is not null: dropout = Convert.ToDouble(v, CultureInfo.InvariantCulture); break;
                    case "Init" when v is int i: init = i; break;
                    case "UseRsLora" when v is bool b: rs = b; break;
                    case "Bias" when v is int bi: bias = bi; break;
                    case "Name" when v is string s: name = s; break;
                }
            }
            return new LoraSpec(rank, alpha ?? rank, dropout, init, rs, bias, name);
        }

        /// <summary>Whether Alpha was given explicitly on the attribute.</summary>
        public static bool HasNamedArgument(AttributeData attribute, string name)
        {
            foreach (var arg in attribute.NamedArguments) if (arg.Key == name) return true;
            return false;
        }
    }

    /// <summary>A <c>"name=value"</c> entry of RankPattern or AlphaPattern.</summary>
    internal readonly record struct PatternEntry(string Name, double Value);

    /// <summary>The values of a <c>[LoraModel]</c> attribute.</summary>
    internal readonly record struct LoraModelSpec(
        LoraSpec Defaults,
        EquatableArray<string> Targets,
        EquatableArray<PatternEntry> RankPattern,
        EquatableArray<PatternEntry> AlphaPattern,
        string? BaseModelName)
    {
        public static LoraModelSpec Read(AttributeData attribute)
        {
            var defaults = LoraSpec.Read(attribute);
            var targets = new List<string>();
            var rank = new List<PatternEntry>();
            var alpha = new List<PatternEntry>();
            string? baseName = null;
            foreach (var arg in attribute.NamedArguments)
            {
                switch (arg.Key)
                {
                    case "Targets": targets.AddRange(Strings(arg.Value)); break;
                    case "RankPattern": rank.AddRange(Patterns(arg.Value)); break;
                    case "AlphaPattern": alpha.AddRange(Patterns(arg.Value)); break;
                    case "BaseModelName" when arg.Value.Value is string s: baseName = s; break;
                }
            }
            return new LoraModelSpec(defaults, new(targets.ToArray()), new(rank.ToArray()), new(alpha.ToArray()), baseName);
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
