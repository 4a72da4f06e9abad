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

        /// <summary>VeRA's shared frozen projection A [r, max_in] in a PEFT model (a BufferDict by adapter name under the tuner).</summary>
        public const string VeraA = "vera_A";

        /// <summary>VeRA's shared frozen projection B [max_out, r].</summary>
        public const string VeraB = "vera_B";

        /// <summary>The tuner's own prefix in a PEFT state dict (the shared projections hang off it, not off a module).</summary>
        public const string TunerPrefix = "base_model.";

        /// <summary>The file key of VeRA's shared A when <c>save_projection</c> is set: <c>base_model.vera_A</c> (PEFT strips the adapter name).</summary>
        public const string VeraSharedA = TunerPrefix + VeraA;

        /// <summary>The file key of VeRA's shared B: <c>base_model.vera_B</c>.</summary>
        public const string VeraSharedB = TunerPrefix + VeraB;

        /// <summary>The file key of VeRA's λ_b [out] for the layer at <paramref name="path"/>: <c>base_model.model.PATH.vera_lambda_b</c>.</summary>
        public static string VeraLambdaBKey(string path) => Prefix + path + "." + VeraLambdaB;

        /// <summary>The file key of VeRA's λ_d [r]: <c>base_model.model.PATH.vera_lambda_d</c>.</summary>
        public static string VeraLambdaDKey(string path) => Prefix + path + "." + VeraLambdaD;

        /// <summary>The state-dict name of λ_b inside its layer: <c>vera_lambda_b.NAME</c> (a ParameterDict).</summary>
        public static string ModuleVeraLambdaB(string adapter) => VeraLambdaB + "." + adapter;

        /// <summary>The state-dict name of λ_d inside its layer: <c>vera_lambda_d.NAME</c>.</summary>
        public static string ModuleVeraLambdaD(string adapter) => VeraLambdaD + "." + adapter;

        /// <summary>NoLA (LoraGen's format, PEFT has none): the coefficients α [k_A] of A's bases.</summary>
        public const string NolaAlpha = "nola_alpha";

        /// <summary>NoLA: the coefficients β [k_B] of B's bases.</summary>
        public const string NolaBeta = "nola_beta";

        /// <summary>The file key of NoLA's α for the layer at <paramref name="path"/>: <c>base_model.model.PATH.nola_alpha</c>.</summary>
        public static string NolaAlphaKey(string path) => Prefix + path + "." + NolaAlpha;

        /// <summary>The file key of NoLA's β: <c>base_model.model.PATH.nola_beta</c>.</summary>
        public static string NolaBetaKey(string path) => Prefix + path + "." + NolaBeta;

        /// <summary>The state-dict name of α inside its layer: <c>nola_alpha.NAME</c>.</summary>
        public static string ModuleNolaAlpha(string adapter) => NolaAlpha + "." + adapter;

        /// <summary>The state-dict name of β inside its layer: <c>nola_beta.NAME</c>.</summary>
        public static string ModuleNolaBeta(string adapter) => NolaBeta + "." + adapter;

        /// <summary>NoLA's safetensors <c>__metadata__</c> entries (the config holds the same values; a loader checks they agree).</summary>
        public const string NolaMetaGenerator = "loragen.nola.generator";
        public const string NolaMetaSeed = "loragen.nola.seed";
        public const string NolaMetaNumBasisA = "loragen.nola.num_basis_a";
        public const string NolaMetaNumBasisB = "loragen.nola.num_basis_b";
        public const string NolaMetaRank = "loragen.nola.r";

        /// <summary>PEFT's <c>adapter_names</c> entry for a batch row that uses no adapter (the base model).</summary>
        public const string BaseAdapterName = "__base__";

        /// <summary>
        /// <c>modules_to_save</c>: in a PEFT model a saved module's trainable copy for one adapter lives at
        /// <c>PATH.modules_to_save.ADAPTER</c> (the frozen original at <c>PATH.original_module</c>); in the adapter file
        /// its parameters are keyed like the base module's own: <c>base_model.model.PATH.weight</c>.
        /// </summary>
        public const string ModulesToSave = "modules_to_save";

        /// <summary>The frozen original of a module in <see cref="ModulesToSave"/> inside a PEFT model.</summary>
        public const string OriginalModule = "original_module";

        /// <summary><c>trainable_token_indices</c>: the wrapper's child that holds the trained rows.</summary>
        public const string TokenAdapter = "token_adapter";

        /// <summary>The trained rows [n_tokens, dim] of a <see cref="TokenAdapter"/> (a ParameterDict by adapter name).</summary>
        public const string TrainableTokensDelta = "trainable_tokens_delta";

        /// <summary>The file key of parameter <paramref name="parameter"/> (<c>weight</c>, <c>bias</c>) of a module in <c>modules_to_save</c>.</summary>
        public static string SavedModule(string path, string parameter) => Prefix + path + "." + parameter;

        /// <summary>The file key of the trained rows of the embedding at <paramref name="path"/>: <c>base_model.model.PATH.token_adapter.trainable_tokens_delta</c>.</summary>
        public static string TrainableTokens(string path) => Prefix + path + "." + TokenAdapter + "." + TrainableTokensDelta;

        /// <summary>The state-dict name of a saved module's copy inside its wrapper: <c>modules_to_save.NAME.PARAMETER</c>.</summary>
        public static string ModuleSavedCopy(string adapter, string parameter) => ModulesToSave + "." + adapter + "." + parameter;

        /// <summary>The state-dict name of the trained rows inside their wrapper: <c>token_adapter.trainable_tokens_delta.NAME</c>.</summary>
        public static string ModuleTokensDelta(string adapter) => TokenAdapter + "." + TrainableTokensDelta + "." + adapter;

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
