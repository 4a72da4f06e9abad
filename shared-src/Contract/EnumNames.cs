namespace LoraGen.Contract
{
    /// <summary>
    /// The member names of the public enums (LoraGen.LoraInit, LoraGen.LoraBias) by value, so the generator
    /// emits enum members by name, never by integer. A test checks them against the enums themselves.
    /// </summary>
    internal static class EnumNames
    {
        /// <summary>The fully qualified enum type the generator emits for initialization.</summary>
        public const string LoraInitType = "global::LoraGen.LoraInit";

        /// <summary>The fully qualified enum type the generator emits for bias training.</summary>
        public const string LoraBiasType = "global::LoraGen.LoraBias";

        /// <summary>The fully qualified enum type the generator emits for the base's storage format.</summary>
        public const string LoraBaseQuantizationType = "global::LoraGen.LoraBaseQuantization";

        /// <summary>LoraBaseQuantization members, index = value.</summary>
        public static readonly string[] LoraBaseQuantization = { "None", "Bf16", "Nf4", "Int8" };
        /// <summary>The fully qualified enum type the generator emits for the adapter variant.</summary>
        public const string LoraVariantType = "global::LoraGen.LoraVariant";

        /// <summary>LoraVariant members, index = value.</summary>
        public static readonly string[] LoraVariant = { "Lora", "Vera", "Nola" };

        /// <summary>LoraInit members, index = value.</summary>
        public static readonly string[] LoraInit = { "Kaiming", "Gaussian", "Pissa", "Olora" };

        /// <summary>LoraBias members, index = value.</summary>
        public static readonly string[] LoraBias = { "None", "All", "LoraOnly" };

        /// <summary>PEFT's <c>bias</c> spelling of each LoraBias member, index = value.</summary>
        public static readonly string[] PeftBias = { ConfigFields.BiasNone, ConfigFields.BiasAll, ConfigFields.BiasLoraOnly };

        /// <summary>The qualified member for <paramref name="value"/>, or a cast for a value outside the enum.</summary>
        public static string Member(string type, string[] names, int value) =>
            value >= 0 && value < names.Length ? type + "." + names[value] : "(" + type + ")" + value.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
