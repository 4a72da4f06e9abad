namespace LoraGen.Contract
{
    /// <summary>
    /// PEFT's <c>combination_type</c> names of <c>add_weighted_adapter</c> (all of them; LoraGen implements each), in the order of the
    /// <c>LoraGen.Combine.CombinationMethod</c> members (a test checks the two agree). The analyzers judge a constant
    /// combination type against this list (LORA0204).
    /// </summary>
    internal static class CombinationTypes
    {
        public const string Linear = "linear";
        public const string Cat = "cat";
        public const string Svd = "svd";
        public const string Ties = "ties";
        public const string DareLinear = "dare_linear";
        public const string DareTies = "dare_ties";
        public const string MagnitudePrune = "magnitude_prune";
        public const string TiesSvd = "ties_svd";
        public const string DareLinearSvd = "dare_linear_svd";
        public const string DareTiesSvd = "dare_ties_svd";
        public const string MagnitudePruneSvd = "magnitude_prune_svd";

        /// <summary>Every name, index = <c>CombinationMethod</c> value.</summary>
        public static readonly string[] All = { Linear, Cat, Svd, Ties, DareLinear, DareTies, MagnitudePrune, TiesSvd, DareLinearSvd, DareTiesSvd, MagnitudePruneSvd };
    }
}
