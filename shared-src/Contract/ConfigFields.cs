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
        public const string BaseModelNameOrPath = "base_model_name_or_path";
        public const string Revision = "revision";
        public const string InferenceMode = "inference_mode";
        public const string LayersToTransform = "layers_to_transform";
        public const string LayersPattern = "layers_pattern";
        public const string ModulesToSave = "modules_to_save";

        /// <summary>The <c>peft_type</c> of a LoRA adapter.</summary>
        public const string LoraPeftType = "LORA";

        /// <summary>PEFT's spellings of <c>bias</c>.</summary>
        public const string BiasNone = "none";
        public const string BiasAll = "all";
        public const string BiasLoraOnly = "lora_only";

        /// <summary>The <c>init_lora_weights</c> string for a Gaussian A.</summary>
        public const string InitGaussian = "gaussian";

        /// <summary>The safetensors <c>__metadata__</c> entry PEFT and transformers write.</summary>
        public const string FormatMetadataKey = "format";

        /// <summary>Its value for PyTorch-layout tensors.</summary>
        public const string FormatMetadataValue = "pt";
    }
}
