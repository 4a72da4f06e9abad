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
    }

    /// <summary>PEFT's own defaults for a LoraConfig field missing from <c>adapter_config.json</c> (PEFT 0.20).</summary>
    internal static class PeftDefaults
    {
        public const int R = 8;
        public const double LoraAlpha = 8;
        public const double LoraDropout = 0.0;
        public const string Bias = ConfigFields.BiasNone;
        public const bool UseRsLora = false;
        public const bool UseDora = false;
        public const bool FanInFanOut = false;
        public const bool InferenceMode = false;
        public const bool InitLoraWeights = true;
    }
}
