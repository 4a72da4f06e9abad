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
    }
}
