using System;
using System.Globalization;
using LoraGen.Contract;
using Microsoft.CodeAnalysis;

namespace LoraGen.SourceModel
{
    /// <summary>
    /// The values of a <c>[Lora]</c> attribute (or the shared settings of <c>[LoraModel]</c>), defaults applied from
    /// <see cref="AttributeDefaults"/> (Alpha unset means Alpha = Rank). Init and Bias are the enum values; UseDora is DoRA; Variant
    /// is the LoraVariant value (LoRA, VeRA, NoLA) and NolaBases NoLA's k.
    /// </summary>
    internal readonly record struct LoraSpec(int Rank, double Alpha, double Dropout, int Init, bool UseRsLora, int Bias, string? Name, bool UseDora = false, int Variant = AttributeDefaults.Variant, int NolaBases = AttributeDefaults.NolaBases)
    {
        public static LoraSpec Read(AttributeData attribute)
        {
            int rank = AttributeDefaults.Rank, init = AttributeDefaults.Init, bias = AttributeDefaults.Bias;
            double? alpha = null;
            double dropout = AttributeDefaults.Dropout;
            bool rs = AttributeDefaults.UseRsLora, dora = AttributeDefaults.UseDora;
            int variant = AttributeDefaults.Variant, nolaBases = AttributeDefaults.NolaBases;
            string? name = null;
            foreach (var arg in attribute.NamedArguments)
            {
                var v = arg.Value.Kind == TypedConstantKind.Array ? null : arg.Value.Value;
                switch (arg.Key)
                {
                    case RuntimeNames.RankProperty when v is int r: rank = r; break;
                    case RuntimeNames.AlphaProperty when v is not null: alpha = Convert.ToDouble(v, CultureInfo.InvariantCulture); break;
                    case RuntimeNames.DropoutProperty when v is not null: dropout = Convert.ToDouble(v, CultureInfo.InvariantCulture); break;
                    case RuntimeNames.InitProperty when v is int i: init = i; break;
                    case RuntimeNames.UseRsLoraProperty when v is bool b: rs = b; break;
                    case RuntimeNames.UseDoraProperty when v is bool d: dora = d; break;
                    case RuntimeNames.BiasProperty when v is int bi: bias = bi; break;
                    case RuntimeNames.VariantProperty when v is int va: variant = va; break;
                    case RuntimeNames.NolaBasesProperty when v is int k: nolaBases = k; break;
                    case RuntimeNames.NameProperty when v is string s: name = s; break;
                }
            }
            return new LoraSpec(rank, alpha ?? AttributeDefaults.Alpha(rank), dropout, init, rs, bias, name, dora, variant, nolaBases);
        }

        /// <summary>Whether the attribute sets the property <paramref name="name"/> explicitly.</summary>
        public static bool HasNamedArgument(AttributeData attribute, string name)
        {
            foreach (var arg in attribute.NamedArguments) if (arg.Key == name) return true;
            return false;
        }
    }
}
