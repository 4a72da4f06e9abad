namespace LoraGen.Contract
{
    /// <summary>
    /// The metadata names of the managed runtime's types and the members the generator emits against, and of the
    /// attributes it reads. The generator and analyzers recognize and emit exactly these; a runtime test checks that
    /// each resolves in the runtime assembly.
    /// </summary>
    internal static class RuntimeNames
    {
        /// <summary>The base class of every layer and model.</summary>
        public const string Module = "LoraGen.Nn.Module";

        /// <summary>The dense layer (an adaptable layer).</summary>
        public const string Linear = "LoraGen.Nn.Linear";

        /// <summary>The lookup table (an adaptable layer).</summary>
        public const string Embedding = "LoraGen.Nn.Embedding";

        /// <summary>The base of per-child adapter settings returned by <see cref="AdapterSpecForMember"/>.</summary>
        public const string AdapterSpec = "LoraGen.Nn.AdapterSpec";

        /// <summary>The <c>[Lora]</c> settings of one field.</summary>
        public const string LoraFieldSpec = "LoraGen.Lora.LoraFieldSpec";

        /// <summary>Rank, alpha, dropout, init, rsLoRA.</summary>
        public const string LoraConfig = "LoraGen.Lora.LoraConfig";

        /// <summary>The <c>Lora</c> facade type.</summary>
        public const string LoraModelController = "LoraGen.Lora.LoraModelController";

        /// <summary>The <c>[LoraModel]</c> settings type.</summary>
        public const string LoraModelOptions = "LoraGen.Lora.LoraModelOptions";

        /// <summary>The tensor type (LORA0017 watches <c>Backward()</c> on it).</summary>
        public const string Tensor = "LoraGen.Tensors.Tensor";

        /// <summary>The per-layer LoRA slot (LORA0017 watches its <c>Merge()</c>/<c>Unmerge()</c>).</summary>
        public const string LoraLayer = "LoraGen.Lora.LoraLayer";

        /// <summary>The optimizer base class (LORA0017 watches <c>Step()</c>).</summary>
        public const string Optimizer = "LoraGen.Optim.Optimizer";

        /// <summary>LoRA+ (PEFT's <c>create_loraplus_optimizer</c>): its static <c>Groups</c> and <c>CreateOptimizer</c> take <see cref="LoraPlusRatioParameter"/> (LORA0204).</summary>
        public const string LoraPlus = "LoraGen.Lora.LoraPlus";

        /// <summary>The LoRA+ ratio parameter (PEFT's <c>loraplus_lr_ratio</c>) of <see cref="LoraPlus"/>'s methods.</summary>
        public const string LoraPlusRatioParameter = "lrRatio";

        /// <summary>The run-time override of an adapter's settings, passed to <see cref="AttachMember"/> as <c>config</c> (LORA0207 reads its R, UseDora, TargetModules, TargetRegex).</summary>
        public const string LoraOverride = "LoraGen.Lora.LoraOverride";

        /// <summary>The controller method that adds an adapter by name (its first parameter) with an optional <see cref="LoraOverride"/>.</summary>
        public const string AttachMember = "Attach";

        /// <summary>PEFT's <c>add_weighted_adapter</c> on the controller (LORA0205–LORA0209 judge its constant arguments).</summary>
        public const string AddWeightedAdapterMember = "AddWeightedAdapter";

        /// <summary>Parameter names of <see cref="AddWeightedAdapterMember"/>: the adapters, their weights, the combination type, the density, the majority sign method.</summary>
        public const string AdaptersParameter = "adapters", WeightsParameter = "weights", CombinationTypeParameter = "combinationType",
            DensityParameter = "density", MajoritySignParameter = "majoritySignMethod";

        /// <summary><see cref="LoraOverride"/>'s properties that decide whether adapters can be combined: rank, DoRA, target list, target regex.</summary>
        public const string OverrideRankProperty = "R", OverrideUseDoraProperty = "UseDora", OverrideTargetModulesProperty = "TargetModules",
            OverrideTargetRegexProperty = "TargetRegex";

        // ---- the TorchSharp backend (metadata names: nested types with '+', generic arity with '`')

        /// <summary>TorchSharp's non-generic module base, <c>torch.nn.Module</c>: the generator emits for partial subclasses of it.</summary>
        public const string TorchModule = "TorchSharp.torch+nn+Module";

        /// <summary>TorchSharp's <c>Linear</c>, adaptable by a hook.</summary>
        public const string TorchLinear = "TorchSharp.Modules.Linear";

        /// <summary>TorchSharp's <c>Embedding</c>, adaptable by a hook.</summary>
        public const string TorchEmbedding = "TorchSharp.Modules.Embedding";

        /// <summary>TorchSharp's module container (arrays are not registered by <c>RegisterComponents()</c>).</summary>
        public const string TorchModuleList = "TorchSharp.Modules.ModuleList`1";

        /// <summary>The interface the generator implements on TorchSharp modules with <c>[Lora]</c> fields.</summary>
        public const string TorchLoraFields = "LoraGen.Torch.ITorchLoraFields";

        /// <summary>The TorchSharp per-field spec.</summary>
        public const string TorchLoraFieldSpec = "LoraGen.Torch.TorchLoraFieldSpec";

        /// <summary>The TorchSharp adapter settings.</summary>
        public const string TorchLoraConfig = "LoraGen.Torch.TorchLoraConfig";

        /// <summary>The TorchSharp <c>Lora</c> facade.</summary>
        public const string TorchLoraModelController = "LoraGen.Torch.TorchLoraModelController";

        /// <summary>The TorchSharp root's options.</summary>
        public const string TorchLoraModelOptions = "LoraGen.Torch.TorchLoraModelOptions";

        /// <summary>The member of <see cref="TorchLoraFields"/> the generator implements.</summary>
        public const string TorchLoraFieldsMember = "LoraFields";

        /// <summary>The overridable member that yields a module's children: <c>IEnumerable&lt;(string Name, Module Module)&gt; Children()</c>.</summary>
        public const string ChildrenMember = "Children";

        /// <summary>The overridable member that returns a child's adapter settings: <c>AdapterSpec? AdapterSpecFor(string childName)</c>.</summary>
        public const string AdapterSpecForMember = "AdapterSpecFor";

        /// <summary>The generated facade property on a <c>[LoraModel]</c> root.</summary>
        public const string FacadeProperty = "Lora";

        /// <summary>The generated static options property on a <c>[LoraModel]</c> root.</summary>
        public const string OptionsProperty = "LoraOptions";

        /// <summary>The generated nested class of key constants on a <c>[LoraModel]</c> root.</summary>
        public const string KeysClass = "LoraKeys";

        /// <summary><c>[Lora]</c>.</summary>
        public const string LoraAttribute = "LoraGen.LoraAttribute";

        /// <summary><c>[LoraModel]</c>.</summary>
        public const string LoraModelAttribute = "LoraGen.LoraModelAttribute";

        /// <summary><c>[ModuleName]</c>.</summary>
        public const string ModuleNameAttribute = "LoraGen.ModuleNameAttribute";

        /// <summary>The attribute property names the generator and analyzers read.</summary>
        public const string RankProperty = "Rank";
        public const string AlphaProperty = "Alpha";
        public const string DropoutProperty = "Dropout";
        public const string InitProperty = "Init";
        public const string UseRsLoraProperty = "UseRsLora";
        public const string UseDoraProperty = "UseDora";
        public const string VariantProperty = "Variant";
        public const string NolaBasesProperty = "NolaBases";
        public const string BiasProperty = "Bias";
        public const string NameProperty = "Name";
        public const string TargetsProperty = "Targets";
        public const string RankPatternProperty = "RankPattern";
        public const string AlphaPatternProperty = "AlphaPattern";
        public const string BaseModelNameProperty = "BaseModelName";
        public const string BaseQuantizationProperty = "BaseQuantization";
    }
}
