namespace LoraGen.Contract
{
    /// <summary>
    /// The file names of a Hugging Face transformers checkpoint directory (the base a merge reads and writes). This is
    /// the only place these strings are spelled.
    /// </summary>
    internal static class HfFiles
    {
        /// <summary>The weights of an unsharded checkpoint.</summary>
        public const string Weights = "model.safetensors";

        /// <summary>The index of a sharded checkpoint: <c>weight_map</c> (key → shard file) and <c>metadata.total_size</c>.</summary>
        public const string ShardIndex = "model.safetensors.index.json";

        /// <summary>The model's configuration.</summary>
        public const string ModelConfig = "config.json";
    }
}
