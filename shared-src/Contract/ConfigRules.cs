namespace LoraGen.Contract
{
    /// <summary>
    /// The one rule set for adapter settings: the run-time config loader, run-time overrides and (at compile time)
    /// the analyzers all ask these. Each returns null when the value is fine, else the problem in words.
    /// </summary>
    internal static class ConfigRules
    {
        /// <summary>r must be at least 1.</summary>
        public static string? Rank(long r) => r >= 1 ? null : "a LoRA rank must be at least 1";

        /// <summary>α must be positive and finite.</summary>
        public static string? Alpha(double alpha) =>
            alpha > 0 && !double.IsInfinity(alpha) ? null : "alpha must be positive and finite";

        /// <summary>Dropout must be in [0, 1).</summary>
        public static string? Dropout(double p) => p >= 0 && p < 1 ? null : "dropout must be at least 0 and less than 1";
    }
}
