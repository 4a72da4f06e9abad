namespace LoraGen.Contract
{
    /// <summary>Defaults of the <c>[Lora]</c>/<c>[LoraModel]</c> attributes (what a user gets by writing nothing).</summary>
    internal static class AttributeDefaults
    {
        /// <summary>The rank r when <c>Rank</c> is not set.</summary>
        public const int Rank = 8;

        /// <summary>The dropout when <c>Dropout</c> is not set.</summary>
        public const double Dropout = 0.0;

        /// <summary>α when <c>Alpha</c> is not set: equal to the rank, so scaling is 1.</summary>
        public static double Alpha(int rank) => rank;

        /// <summary>The LoraInit value when <c>Init</c> is not set (Kaiming; an index into <see cref="EnumNames.LoraInit"/>).</summary>
        public const int Init = 0;

        /// <summary>The LoraBias value when <c>Bias</c> is not set (None; an index into <see cref="EnumNames.LoraBias"/>).</summary>
        public const int Bias = 0;

        /// <summary>Whether rsLoRA scaling is on when <c>UseRsLora</c> is not set.</summary>
        public const bool UseRsLora = false;

        /// <summary>Whether DoRA is on when <c>UseDora</c> is not set.</summary>
        public const bool UseDora = false;

        /// <summary>The LoraVariant value when <c>Variant</c> is not set (Lora; an index into <see cref="EnumNames.LoraVariant"/>).</summary>
        public const int Variant = 0;

        /// <summary>NoLA's k when <c>NolaBases</c> is not set.</summary>
        public const int NolaBases = 64;
    }
}
