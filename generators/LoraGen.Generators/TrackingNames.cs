namespace LoraGen.Generators
{
    /// <summary>Names of the pipeline steps, for incremental-cacheability tests.</summary>
    internal static class TrackingNames
    {
        /// <summary>Every partial class with a base list, parsed (null when it is not a Module subclass we generate for).</summary>
        public const string ModuleTypes = nameof(ModuleTypes);

        /// <summary>Partial TorchSharp module subclasses, parsed (null for other classes).</summary>
        public const string TorchModuleTypes = nameof(TorchModuleTypes);

        /// <summary>The TorchSharp module models that get code.</summary>
        public const string TorchModuleTypesFound = nameof(TorchModuleTypesFound);

        /// <summary>The Module subclasses we generate for.</summary>
        public const string ModuleTypesFound = nameof(ModuleTypesFound);

        /// <summary>Every <c>[Lora]</c> field, parsed.</summary>
        public const string LoraFields = nameof(LoraFields);

        /// <summary>The <c>[Lora]</c> fields on adaptable layers of Module subclasses.</summary>
        public const string LoraFieldsFound = nameof(LoraFieldsFound);

        /// <summary>All of them, as one equatable array.</summary>
        public const string LoraFieldsCollected = nameof(LoraFieldsCollected);

        /// <summary>Every <c>[LoraModel]</c> class, parsed.</summary>
        public const string LoraModels = nameof(LoraModels);

        /// <summary>The <c>[LoraModel]</c> roots that are Module subclasses.</summary>
        public const string LoraModelsFound = nameof(LoraModelsFound);

        /// <summary>All of them, as one equatable array.</summary>
        public const string LoraModelsCollected = nameof(LoraModelsCollected);

        /// <summary>Each Module subclass paired with the collected <c>[Lora]</c> fields.</summary>
        public const string ModuleTypesWithLoraFields = nameof(ModuleTypesWithLoraFields);

        /// <summary>That pair joined with the collected <c>[LoraModel]</c> roots.</summary>
        public const string ModuleTypesWithRoots = nameof(ModuleTypesWithRoots);

        /// <summary>One <see cref="Model.GenerationModel"/> per type: what its file holds.</summary>
        public const string Generation = nameof(Generation);
    }
}
