namespace LoraGen.Contract
{
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
