using System.Collections.Immutable;
using System.Globalization;
using LoraGen.Contract;
using LoraGen.SourceModel;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace LoraGen.Analyzers
{
    /// <summary>
    /// The value checks of a <c>[Lora]</c> or <c>[LoraModel]</c> attribute (rank, alpha, dropout and the tuning hints).
    /// The verdict on a value comes from <see cref="ConfigRules"/>, which the run-time config loader asks too, so a
    /// setting the analyzers accept is one the runtime accepts.
    /// </summary>
    internal static class SettingsChecks
    {
        /// <summary>The largest rank that LORA0015 does not call large.</summary>
        public const int LargestCommonRank = 256;

        /// <summary>LORA0016 fires outside [1/16, 16].</summary>
        public const double ExtremeRatio = 16;

        /// <summary>Reports LORA0001, 0002, 0003, 0015 and 0016 for the settings of <paramref name="attribute"/>, named <paramref name="name"/> in messages.</summary>
        public static void Check(AttributeData attribute, string name, System.Action<Diagnostic> report)
        {
            var spec = LoraSpec.Read(attribute);
            bool rankOk = ConfigRules.Rank(spec.Rank) is null;
            var rankLocation = ArgumentLocation(attribute, RuntimeNames.RankProperty);
            bool alphaSet = LoraSpec.HasNamedArgument(attribute, RuntimeNames.AlphaProperty);
            if (!rankOk)
                report(Diagnostic.Create(Descriptors.RankTooSmall, rankLocation,
                    ImmutableDictionary<string, string?>.Empty.Add(DiagnosticProperties.Replacement, ReplacementRank(alphaSet, spec.Alpha).ToString(CultureInfo.InvariantCulture)),
                    spec.Rank, name));
            else if ((spec.Rank & (spec.Rank - 1)) != 0 || spec.Rank > LargestCommonRank)
                report(Diagnostic.Create(Descriptors.RankNotPowerOfTwo, rankLocation, spec.Rank, name,
                    spec.Rank > LargestCommonRank ? "is above " + LargestCommonRank.ToString(CultureInfo.InvariantCulture) : "is not a power of two"));

            // An unset Alpha is the default (the rank); only an explicit one can be wrong.
            bool alphaOk = ConfigRules.Alpha(spec.Alpha) is null;
            if (alphaSet && !alphaOk)
            {
                // The fix offers the default alpha for this rank, which is only valid when the rank is.
                var properties = rankOk
                    ? ImmutableDictionary<string, string?>.Empty.Add(DiagnosticProperties.Rank, Format(AttributeDefaults.Alpha(spec.Rank)))
                    : ImmutableDictionary<string, string?>.Empty;
                report(Diagnostic.Create(Descriptors.AlphaNotPositive, ArgumentLocation(attribute, RuntimeNames.AlphaProperty), properties, Format(spec.Alpha), name));
            }
            else if (rankOk && alphaOk)
            {
                double ratio = spec.Alpha / spec.Rank;
                if (ratio > ExtremeRatio || ratio < 1 / ExtremeRatio)
                    report(Diagnostic.Create(Descriptors.ExtremeAlphaRatio, ArgumentLocation(attribute, RuntimeNames.AlphaProperty), Format(ratio), name));
            }

            if (ConfigRules.Dropout(spec.Dropout) is not null)
                report(Diagnostic.Create(Descriptors.DropoutOutOfRange, ArgumentLocation(attribute, RuntimeNames.DropoutProperty),
                    ImmutableDictionary<string, string?>.Empty.Add(DiagnosticProperties.Replacement, spec.Dropout < 0 || double.IsNaN(spec.Dropout) ? "0" : "0.1"),
                    Format(spec.Dropout), name));
        }

        /// <summary>
        /// The rank the LORA0001 fix offers: PEFT's default 8, or — when an explicit valid α would make 8 an extreme
        /// ratio (LORA0016) — the smallest power of two that brings α/r within range, so the fix leaves no other diagnostic.
        /// </summary>
        internal static int ReplacementRank(bool alphaSet, double alpha)
        {
            int r = AttributeDefaults.Rank;
            if (!alphaSet || ConfigRules.Alpha(alpha) is not null) return r;
            double ratio = alpha / r;
            if (ratio <= ExtremeRatio && ratio >= 1 / ExtremeRatio) return r;
            int p = 1;
            while (p < LargestCommonRank && alpha / p > ExtremeRatio) p *= 2;
            return p;
        }

        /// <summary>The largest power of two ≤ <paramref name="n"/> (n ≥ 1).</summary>
        internal static int LargestPowerOfTwoAtMost(int n)
        {
            int p = 1;
            while (p <= n / 2) p *= 2;
            return p;
        }

        /// <summary>The location of a named argument of the attribute (e.g. Rank), or of the whole attribute.</summary>
        public static Location ArgumentLocation(AttributeData attribute, string name)
        {
            if (attribute.ApplicationSyntaxReference?.GetSyntax() is not AttributeSyntax syntax) return Location.None;
            foreach (var arg in syntax.ArgumentList?.Arguments ?? default)
                if (arg.NameEquals?.Name.Identifier.ValueText == name) return arg.Expression.GetLocation();
            return syntax.GetLocation();
        }

        /// <summary>A number as messages and fixes show it: invariant, at most four decimals.</summary>
        public static string Format(double v) => v.ToString("0.####", CultureInfo.InvariantCulture);
    }
}
