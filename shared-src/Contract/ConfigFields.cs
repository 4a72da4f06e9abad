namespace LoraGen.Contract
{
    /// <summary>The JSON field names of PEFT's <c>adapter_config.json</c> (a LoraConfig), and their fixed values.</summary>
    internal static class ConfigFields
    {
        public const string PeftType = "peft_type";
        public const string R = "r";
        public const string LoraAlpha = "lora_alpha";
        public const string LoraDropout = "lora_dropout";
        public const string TargetModules = "target_modules";
        public const string ExcludeModules = "exclude_modules";
        public const string Bias = "bias";
        public const string UseRsLora = "use_rslora";
        public const string UseDora = "use_dora";
        public const string FanInFanOut = "fan_in_fan_out";
        public const string InitLoraWeights = "init_lora_weights";
        public const string RankPattern = "rank_pattern";
        public const string AlphaPattern = "alpha_pattern";
        public const string TaskType = "task_type";
        public const string TaskTypeCausalLm = "CAUSAL_LM";
        public const string BaseModelNameOrPath = "base_model_name_or_path";
        public const string Revision = "revision";
        public const string InferenceMode = "inference_mode";
        public const string LayersToTransform = "layers_to_transform";
        public const string LayersPattern = "layers_pattern";
        public const string ModulesToSave = "modules_to_save";

        // The other fields PEFT 0.20 writes for a LoraConfig. LoraGen has no properties for them and keeps them as
        // raw JSON (AdapterConfig.OtherFields), so a config goes back out as it came in.
        public const string AloraInvocationTokens = "alora_invocation_tokens";
        public const string ArrowConfig = "arrow_config";
        public const string AutoMapping = "auto_mapping";
        public const string CordaConfig = "corda_config";
        public const string EnsureWeightTying = "ensure_weight_tying";
        public const string EvaConfig = "eva_config";
        public const string LayerReplication = "layer_replication";
        public const string LoftqConfig = "loftq_config";
        public const string LoraBiasField = "lora_bias";
        public const string LoraGaConfig = "lora_ga_config";
        public const string MegatronConfig = "megatron_config";
        public const string MegatronCore = "megatron_core";
        public const string MontecloraConfig = "monteclora_config";
        public const string PeftVersion = "peft_version";
        public const string QaloraGroupSize = "qalora_group_size";
        public const string TargetParameters = "target_parameters";
        public const string TrainableTokenIndices = "trainable_token_indices";
        public const string UseBdlora = "use_bdlora";
        public const string UseQalora = "use_qalora";
        public const string VeloraConfig = "velora_config";

        // VeRA (PEFT VeraConfig) and NoLA (LoraGen's own format, docs/nola-format.md).
        public const string ProjectionPrngKey = "projection_prng_key";
        public const string SaveProjection = "save_projection";
        public const string VeraDropout = "vera_dropout";
        public const string DInitial = "d_initial";
        public const string InitWeights = "init_weights";
        public const string NolaDropout = "nola_dropout";
        public const string NolaSeed = "nola_seed";
        public const string NumBasisA = "num_basis_a";
        public const string NumBasisB = "num_basis_b";
        public const string BasisGenerator = "basis_generator";

        /// <summary>The <c>peft_type</c> of a VeRA adapter.</summary>
        public const string VeraPeftType = "VERA";

        /// <summary>The <c>peft_type</c> LoraGen writes for a NoLA adapter (PEFT has no NoLA).</summary>
        public const string NolaPeftType = "NOLA";

        /// <summary>NoLA's one basis generator (docs/nola-format.md): xoshiro128** seeded through SplitMix64, uniform floats.</summary>
        public const string NolaGeneratorV1 = "loragen-xoshiro128ss-v1";

        /// <summary>The <c>peft_type</c> of a LoRA adapter.</summary>
        public const string LoraPeftType = "LORA";

        /// <summary>PEFT's spellings of <c>bias</c>.</summary>
        public const string BiasNone = "none";
        public const string BiasAll = "all";
        public const string BiasLoraOnly = "lora_only";

        /// <summary>The <c>target_modules</c> shorthand for every linear layer but the output layer (compared case-insensitively).</summary>
        public const string AllLinear = "all-linear";

        /// <summary>The <c>init_lora_weights</c> string for a Gaussian A.</summary>
        public const string InitGaussian = "gaussian";

        /// <summary>The <c>init_lora_weights</c> string for PiSSA (exact SVD).</summary>
        public const string InitPissa = "pissa";

        /// <summary>PiSSA with a randomized SVD of N power iterations is <c>"pissa_niter_N"</c>: this infix.</summary>
        public const string InitPissaNiterInfix = "_niter_";

        /// <summary>The <c>init_lora_weights</c> string for OLoRA.</summary>
        public const string InitOlora = "olora";

        /// <summary>The safetensors <c>__metadata__</c> entry PEFT and transformers write.</summary>
        public const string FormatMetadataKey = "format";

        /// <summary>Its value for PyTorch-layout tensors.</summary>
        public const string FormatMetadataValue = "pt";
    }
}
