namespace LoraGen.Contract
{
    /// <summary>
    /// PEFT's checkpoint layout: file names, the key prefix and the per-layer key templates of every adapter kind.
    /// The adapter name is never part of a file key; it is part of a module's state-dict name
    /// (<c>lora_A.default.weight</c>). This is the only place these strings are spelled.
    /// </summary>
    internal static class PeftKeys
    {
        /// <summary>The adapter weights file of a PEFT adapter directory.</summary>
        public const string WeightsFile = "adapter_model.safetensors";

        /// <summary>The weights file of older PEFT adapter directories (PyTorch pickle), which LoraGen does not read.</summary>
        public const string PickleWeightsFile = "adapter_model.bin";

        /// <summary>The adapter settings file of a PEFT adapter directory.</summary>
        public const string ConfigFile = "adapter_config.json";

        /// <summary>Every key of a PEFT adapter file starts with this, followed by the module path.</summary>
        public const string Prefix = "base_model.model.";

        /// <summary>Linear A, [r, in].</summary>
        public const string LinearA = "lora_A";

        /// <summary>Linear B, [out, r].</summary>
        public const string LinearB = "lora_B";

        /// <summary>Embedding A, [r, num_embeddings] (a parameter itself, no <c>.weight</c>).</summary>
        public const string EmbeddingA = "lora_embedding_A";

        /// <summary>Embedding B, [dim, r].</summary>
        public const string EmbeddingB = "lora_embedding_B";

        /// <summary>DoRA's magnitude vector m, [out] (a module holding <c>.weight</c>).</summary>
        public const string DoraMagnitude = "lora_magnitude_vector";

        /// <summary>VeRA's trainable scaling vector b, [out].</summary>
        public const string VeraLambdaB = "vera_lambda_b";

        /// <summary>VeRA's trainable scaling vector d, [r].</summary>
        public const string VeraLambdaD = "vera_lambda_d";

        /// <summary>PEFT's <c>adapter_names</c> entry for a batch row that uses no adapter (the base model).</summary>
        public const string BaseAdapterName = "__base__";

        /// <summary>The suffix of a submodule's weight.</summary>
        public const string WeightSuffix = ".weight";

        /// <summary>The file key of A for the layer at <paramref name="path"/>: <c>base_model.model.PATH.lora_A.weight</c>.</summary>
        public static string A(string path, bool embedding) =>
            embedding ? Prefix + path + "." + EmbeddingA : Prefix + path + "." + LinearA + WeightSuffix;

        /// <summary>The file key of B for the layer at <paramref name="path"/>: <c>base_model.model.PATH.lora_B.weight</c>.</summary>
        public static string B(string path, bool embedding) =>
            embedding ? Prefix + path + "." + EmbeddingB : Prefix + path + "." + LinearB + WeightSuffix;

        /// <summary>The file key of DoRA's magnitude for the layer at <paramref name="path"/>.</summary>
        public static string Magnitude(string path) => Prefix + path + "." + DoraMagnitude;

        /// <summary>The state-dict name of A inside its layer: <c>lora_A.NAME.weight</c> or <c>lora_embedding_A.NAME</c>.</summary>
        public static string ModuleA(string adapter, bool embedding) =>
            embedding ? EmbeddingA + "." + adapter : LinearA + "." + adapter + WeightSuffix;

        /// <summary>The state-dict name of DoRA's magnitude inside its layer: <c>lora_magnitude_vector.NAME.weight</c>.</summary>
        public static string ModuleMagnitude(string adapter) => DoraMagnitude + "." + adapter + WeightSuffix;

        /// <summary>The state-dict name of B inside its layer: <c>lora_B.NAME.weight</c> or <c>lora_embedding_B.NAME</c>.</summary>
        public static string ModuleB(string adapter, bool embedding) =>
            embedding ? EmbeddingB + "." + adapter : LinearB + "." + adapter + WeightSuffix;
    }
}
