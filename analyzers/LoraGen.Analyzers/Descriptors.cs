using LoraGen.Contract;
using Microsoft.CodeAnalysis;

namespace LoraGen.Analyzers
{
    /// <summary>Every LoraGen diagnostic. Each has a page at docs/analyzers/&lt;ID&gt;.md.</summary>
    internal static class Descriptors
    {
        public const string Category = "LoraGen";
        public const string Usage = "LoraGen.Usage";
        public const string Tuning = "LoraGen.Tuning";

        /// <summary>
        /// Where the rule pages live: docs/analyzers in the project's repository (LoraGenProjectUrl in
        /// Directory.Build.props; a test keeps the two equal). The same pages ship in the package under docs/analyzers.
        /// </summary>
        public const string DocsBaseUrl = "https://github.com/loragen/loragen/blob/main/docs/analyzers/";

        /// <summary>The help link of a rule: its page, docs/analyzers/&lt;ID&gt;.md.</summary>
        public static string HelpLink(string id) => DocsBaseUrl + id + ".md";

        private static DiagnosticDescriptor Rule(string id, string title, string message, string category, DiagnosticSeverity severity, string description) =>
            new(id, title, message, category, severity, isEnabledByDefault: true, description: description, helpLinkUri: HelpLink(id));

        public static readonly DiagnosticDescriptor RankTooSmall = Rule("LORA0001",
            "LoRA rank must be at least 1", "Rank {0} of '{1}' is invalid: a LoRA rank must be at least 1",
            Usage, DiagnosticSeverity.Error, "A rank below 1 gives an empty adapter; PEFT rejects it when the model is built.");

        public static readonly DiagnosticDescriptor AlphaNotPositive = Rule("LORA0002",
            "LoRA alpha must be positive", "Alpha {0} of '{1}' is invalid: alpha must be greater than 0 (use Alpha = Rank for scaling 1)",
            Usage, DiagnosticSeverity.Error, "Scaling is alpha/rank; zero or negative alpha disables or inverts the adapter.");

        public static readonly DiagnosticDescriptor DropoutOutOfRange = Rule("LORA0003",
            "LoRA dropout must be in [0, 1)", "Dropout {0} of '{1}' is invalid: it must be at least 0 and less than 1",
            Usage, DiagnosticSeverity.Error, "Dropout is a probability of dropping an input of the adapter; 1 drops everything.");

        public static readonly DiagnosticDescriptor RankAboveDimensions = Rule("LORA0004",
            "LoRA rank exceeds the layer's dimensions", "Rank {0} of '{1}' exceeds min(in, out) = {2} of {3}: the adapter cannot be low-rank",
            Usage, DiagnosticSeverity.Error, "A rank above the smaller dimension of the layer only adds parameters; it cannot add expressiveness.");

        public static readonly DiagnosticDescriptor NoSavings = Rule("LORA0005",
            "LoRA adapter is not smaller than the layer", "Rank {0} of '{1}' gives {2} adapter parameters for a {3} layer of {4}: LoRA saves nothing here",
            Tuning, DiagnosticSeverity.Warning, "With r·(in + out) ≥ in·out the adapter is at least as large as the layer; fine-tune the layer instead or lower the rank.");

        public static readonly DiagnosticDescriptor NotAdaptable = Rule("LORA0006",
            "[Lora] target is not an adaptable layer", "'{0}' has type {1}, which LoRA cannot adapt: [Lora] applies to Linear and Embedding fields (or arrays/lists of them)",
            Usage, DiagnosticSeverity.Error, "The generator only wires adapters into Linear and Embedding layers; on other types the attribute would be silently ignored.");

        public static readonly DiagnosticDescriptor StaticField = Rule("LORA0007",
            "[Lora] on a static field", "'{0}' is static: a static layer is not part of any model instance, so [Lora] cannot adapt it",
            Usage, DiagnosticSeverity.Error, "Module trees are built from instance fields.");

        public static readonly DiagnosticDescriptor OnProperty = Rule("LORA0008",
            "[Lora] on a property", "'{0}' is a property: put [Lora] on the field that holds the layer",
            Usage, DiagnosticSeverity.Error, "The generator reads module trees from fields; a property is not a child module.");

        public static readonly DiagnosticDescriptor TypeNotPartial = Rule("LORA0009",
            "Module with LoRA members must be partial", "'{0}' must be declared partial so that LoraGen can generate its module tree and LoRA wiring",
            Usage, DiagnosticSeverity.Error, "Without 'partial' the generator cannot add Children() and the [Lora] settings; the attribute would have no effect.");

        public static readonly DiagnosticDescriptor NotAModule = Rule("LORA0010",
            "LoRA attribute outside a Module", "'{0}' does not derive from " + RuntimeNames.Module + ": [{1}] has no effect here",
            Usage, DiagnosticSeverity.Error, "Only Module subclasses form module trees that LoRA adapters attach to.");

        public static readonly DiagnosticDescriptor TargetMatchesNothing = Rule("LORA0011",
            "LoRA target matches no layer", "Target '{0}' matches no Linear or Embedding in the module tree of '{1}'; candidates: {2}",
            Usage, DiagnosticSeverity.Error, "PEFT raises this when the model is built; LoraGen reports it while you type. Names match a layer's path or its last segments.");

        public static readonly DiagnosticDescriptor ConflictingSettings = Rule("LORA0012",
            "LoRA target configured twice", "'{0}' is selected by [LoraModel(Targets)] as '{1}' and also has [Lora] with different settings; the [Lora] settings win",
            Usage, DiagnosticSeverity.Warning, "Keep one source of truth for each layer's adapter settings.");

        public static readonly DiagnosticDescriptor KeyCollision = Rule("LORA0013",
            "Two children map to the same key", "'{0}' and '{1}' of '{2}' both map to the path segment '{3}': their state-dict and adapter keys would collide",
            Usage, DiagnosticSeverity.Error, "[ModuleName] and [Lora(Name)] rename path segments; two children with the same segment overwrite each other in safetensors files.");

        public static readonly DiagnosticDescriptor WeightMutated = Rule("LORA0014",
            "Weight of a LoRA layer written directly", "'{0}.Weight' is written here, but adapters of '{0}' may be merged into it: unmerge first or the write is mixed with ΔW",
            Usage, DiagnosticSeverity.Warning, "Merge folds s·B·A into the weight; writing the weight while merged corrupts both the base weight and a later unmerge.");

        public static readonly DiagnosticDescriptor RankNotPowerOfTwo = Rule("LORA0015",
            "Unusual LoRA rank", "Rank {0} of '{1}' {2}; common choices are 4, 8, 16, 32 or 64",
            Tuning, DiagnosticSeverity.Info, "Powers of two up to 256 are the ranks used in practice; large ranks erode LoRA's savings.");

        public static readonly DiagnosticDescriptor ExtremeAlphaRatio = Rule("LORA0016",
            "Extreme LoRA alpha/rank ratio", "Alpha/Rank = {0} for '{1}' is extreme: the adapter's updates are scaled by {0}; ratios between 0.5 and 4 are typical",
            Tuning, DiagnosticSeverity.Info, "Scaling multiplies the adapter's contribution and its gradients; extreme values need a matching learning rate.");

        public static readonly DiagnosticDescriptor TrainingAfterMerge = Rule("LORA0017",
            "Model trained after Merge()", "'{0}' runs after Merge() in this method: training a merged model updates A/B that are already folded into the weights; call Unmerge() first",
            Usage, DiagnosticSeverity.Warning, "Merged adapters are skipped in the forward pass, so their gradients are zero and the merged weights drift from B·A.");

        public static readonly DiagnosticDescriptor BadPattern = Rule("LORA0018",
            "Malformed rank or alpha pattern", "'{0}' in {1} is not of the form \"name=value\" with a {2}",
            Usage, DiagnosticSeverity.Error, $"RankPattern and AlphaPattern entries are \"module_name=value\" strings, like PEFT's {ConfigFields.RankPattern} and {ConfigFields.AlphaPattern}.");

        public static readonly DiagnosticDescriptor ContainingTypeNotPartial = Rule("LORA0019",
            "Module nested in a non-partial type", "'{0}' is nested in '{1}', which is not partial: LoraGen cannot generate its module tree, so it will have no children",
            Usage, DiagnosticSeverity.Error, "Generated members of a nested type must be declared inside every enclosing type; all of them must be partial.");

        public static readonly DiagnosticDescriptor RootNotModule = Rule("LORA0020",
            "[LoraModel] root is not a partial Module", "'{0}' {1}: the Lora facade cannot be generated",
            Usage, DiagnosticSeverity.Error, "The root of a LoRA model must be a partial class deriving from " + RuntimeNames.Module + ".");

        public static readonly DiagnosticDescriptor ModuleWithChildrenNotPartial = Rule("LORA0021",
            "Module holding layers must be partial", "'{0}' holds the child module '{1}' but is not partial: its layers would be missing from Parameters(), StateDict(), SaveWeights/LoadWeights and LoRA targets",
            Usage, DiagnosticSeverity.Error, "The generator lists a module's children in a generated Children(); without 'partial' it cannot, and every layer below silently drops out of checkpoints and training.");

        public static readonly DiagnosticDescriptor MissingLoraModel = Rule("LORA0022",
            "Lora facade without [LoraModel]", "'{0}' has no Lora facade: mark the root class '{0}' with [LoraModel] (and make it partial) to get model.Lora",
            Usage, DiagnosticSeverity.Error, "The Lora property (Attach, Summary, Save, Load, Merge) is generated only for a class marked [LoraModel].");

        public static readonly DiagnosticDescriptor BadModuleName = Rule("LORA0023",
            "Module name is not a valid path segment or clashes with a generated member", "{0}",
            Usage, DiagnosticSeverity.Error, "A [ModuleName] or [Lora(Name = ...)] string becomes one segment of PEFT's dotted module path, so it must be non-empty and hold no '.', whitespace or control character; a module type or member named like a generated member (Children, AdapterSpecFor; Lora, LoraOptions, LoraKeys on a [LoraModel] root) does not compile with the generated code.");

        public static readonly DiagnosticDescriptor SharedLayer = Rule("LORA0024",
            "One layer held by two fields (a shared or tied layer)", "'{0}' holds the same layer as '{1}': the layer is shared, so LoRA adapts it once and saves it under its first path only (a file naming it under either path loads)",
            Usage, DiagnosticSeverity.Warning, "A Linear or Embedding reachable under two field names is one layer: as in PyTorch's named_modules(), LoraGen adapts it once, under its first path; [Lora] on both names or a file using the second path refer to that same adapter. Give each field its own layer if they should be adapted separately.");

        public static readonly DiagnosticDescriptor BadTargetPattern = Rule("LORA0025",
            "Target is not a valid regular expression", "Target \"{0}\" is read as a regular expression (it holds characters a module name cannot) but does not parse: {1}",
            Usage, DiagnosticSeverity.Error, "A [LoraModel(Targets)] entry is a module name (letters, digits, '_' and '.'), \"all-linear\", or else a regular expression the whole dotted path must match, as PEFT's one-string " + ConfigFields.TargetModules + ".");

        // ---- LORA01xx: the TorchSharp backend

        public static readonly DiagnosticDescriptor TorchForwardSkipsHooks = Rule("LORA0101",
            "Adapted TorchSharp layer invoked with forward()", "'{0}' has [Lora] but is invoked with forward(x), which skips forward hooks: the LoRA adapter is silently left out; use call(x)",
            Usage, DiagnosticSeverity.Warning, "The TorchSharp backend adds s·B(A(dropout(x))) in a forward hook on the layer; Module.call runs hooks, Module.forward does not.");

        public static readonly DiagnosticDescriptor TorchMissingRegisterComponents = Rule("LORA0102",
            "TorchSharp model constructor never calls RegisterComponents()", "This constructor of '{0}' never calls RegisterComponents(): its layers are not registered, so LoRA finds no targets and parameters(), to(device) and state_dict() miss them",
            Usage, DiagnosticSeverity.Warning, "TorchSharp registers a module's fields as children in RegisterComponents(); the LoRA facade walks the registered children.");

        public static readonly DiagnosticDescriptor TorchAdaptedFieldReassigned = Rule("LORA0103",
            "Adapted TorchSharp layer reassigned after construction", "'{0}' has [Lora] and is reassigned {1}: the new layer has no LoRA hook and the registered child is still the old one",
            Usage, DiagnosticSeverity.Warning, "RegisterComponents() registers the layer object held at that time and Attach() hooks that object; a later assignment leaves the model with an unregistered, unadapted layer.");

        // ---- LORA02xx: LoRA variants

        // LORA0201 ("DoRA where the backend cannot apply it") is retired: the TorchSharp backend applies DoRA. The ID is
        // never reused (docs/analyzers/LORA0201.md; CatalogTests' Retired list).

        public static readonly DiagnosticDescriptor ResidualInitWithDropout = Rule("LORA0202",
            "PiSSA/OLoRA initialisation with dropout", "'{0}' uses {1} initialisation with Dropout = {2}: the adapter starts as the principal part of W, and dropping its input perturbs the model from the first step; use Dropout = 0",
            Tuning, DiagnosticSeverity.Warning, "PiSSA and OLoRA move the top part of W into B·A (W = W_res + s·BA), so dropout on the adapter's input drops part of the base model's own computation. PEFT warns about this too.");

        public static readonly DiagnosticDescriptor ResidualInitOnEmbedding = Rule("LORA0203",
            "PiSSA/OLoRA initialisation on an Embedding", "'{0}' uses {1} initialisation, but it is an Embedding: PEFT (and LoraGen) initialise Linear layers this way only",
            Usage, DiagnosticSeverity.Error, "PiSSA and OLoRA initialise A and B from W's SVD or QR and rewrite W to the residual; PEFT does this for Linear layers only, and so do both LoraGen backends (Attach refuses it on an Embedding).");

        /// <summary>PEFT's combination type names, for LORA0205's messages.</summary>
        public static readonly string Names = string.Join(", ", CombinationTypes.All);

        public static readonly DiagnosticDescriptor LoraPlusRatioTooSmall = Rule("LORA0204",
            "LoRA+ ratio not above 1", "LoRA+ ratio {0} {1}; LoRA+ trains B λ times faster than A with λ ≫ 1 (PEFT's default loraplus_lr_ratio is 16)",
            Tuning, DiagnosticSeverity.Warning, "LoRA+ (Hayou et al. 2024) gives B the learning rate λ·η; λ = 1 is plain LoRA with extra parameter groups, λ < 1 slows B down, and λ ≤ 0 throws when the optimizer is built.");

        public static readonly DiagnosticDescriptor UnknownCombinationType = Rule("LORA0205",
            "Unknown adapter combination type", "Combination type \"{0}\" is not one of PEFT's: {1}{2}",
            Usage, DiagnosticSeverity.Error, "AddWeightedAdapter takes PEFT's combination_type names (" + Names + "); any other throws when it runs.");

        public static readonly DiagnosticDescriptor CombinationWeightCount = Rule("LORA0206",
            "Adapter and weight counts differ", "{0} adapters are combined with {1} weights: give one weight per adapter",
            Usage, DiagnosticSeverity.Error, "AddWeightedAdapter (like PEFT's add_weighted_adapter, which zips the two lists and silently drops the extra ones) needs exactly one weight per adapter; LoraGen throws when it runs.");

        public static readonly DiagnosticDescriptor CombinationOfIncompatibleAdapters = Rule("LORA0207",
            "Combined adapters were attached with incompatible settings", "'{0}' and '{1}' cannot be combined by {2}: {3}",
            Usage, DiagnosticSeverity.Error, "Within one method, adapters attached with constant LoraOverride settings and then combined: linear, ties, dare_linear, dare_ties and magnitude_prune need one rank (cat and the svd types take any), PEFT refuses target lists mixed with target regexes, and DoRA magnitudes do not combine.");

        public static readonly DiagnosticDescriptor CombinationDensity = Rule("LORA0208",
            "Combination density missing or out of range", "Combination type \"{0}\" {1}: density is the fraction of entries kept, in (0, 1]",
            Usage, DiagnosticSeverity.Error, "ties, dare_linear, dare_ties, magnitude_prune and their _svd forms trim or drop entries and need PEFT's density in (0, 1]; without it (or outside it) AddWeightedAdapter throws.");

        public static readonly DiagnosticDescriptor UnknownMajoritySignMethod = Rule("LORA0209",
            "Unknown majority sign method", "Majority sign method \"{0}\" is not \"total\" or \"frequency\"{1}",
            Usage, DiagnosticSeverity.Error, "TIES elects each entry's sign from the sum of the values (\"total\", PEFT's default) or of their signs (\"frequency\"); any other name throws when AddWeightedAdapter runs.");
        // ---- LORA0214+: QLoRA's low-precision base

        public static readonly DiagnosticDescriptor QuantizedEmbedding = Rule("LORA0214",
            "Embedding base cannot be quantized", "'{0}' stores its base in {1} (BaseQuantization), but the adapted Embedding '{2}' cannot be quantized: its weight stays fp32",
            Usage, DiagnosticSeverity.Warning, "The low-precision base is read through the GEMM's tile hook, which only Linear layers use; an Embedding gathers rows and keeps its fp32 table, so its memory is not reduced. Adapt Linear layers for QLoRA, or accept the fp32 table.");

        // LORA0215 ("Low-precision base where the backend cannot apply it") is retired: the TorchSharp backend keeps NF4
        // and BF16 bases (TorchQuantizedBase). The ID is never reused (docs/analyzers/LORA0215.md; CatalogTests' Retired list).
        public static readonly DiagnosticDescriptor TorchQuantizationUnsupported = Rule("LORA0217",
            "Base quantization the TorchSharp backend does not keep", "'{0}' is a TorchSharp module and sets BaseQuantization = {1}, but the TorchSharp backend keeps NF4 and BF16 bases only (Attach throws NotSupportedException): use Nf4 or Bf16, or the managed backend, which has Int8",
            Usage, DiagnosticSeverity.Error, "TorchQuantizedBase keeps a frozen Linear weight as NF4 (QLoRA) or bfloat16 and dequantizes it per forward; the int8 base (per-channel int8 weights, per-token int8 activations on AVX-VNNI) is the managed runtime's kernel. TorchLoraModelController.Attach refuses any other format before it changes anything.");

        public static readonly DiagnosticDescriptor VeraRanksDiffer = Rule("LORA0210",
            "VeRA layers with different ranks", "'{0}' uses VeRA with rank {1}, but '{2}' uses VeRA with rank {3}: VeRA shares one pair of projections across the adapter's layers, so every layer needs the same rank",
            Usage, DiagnosticSeverity.Error, "VeRA's frozen A [r, max_in] and B [max_out, r] are one pair per adapter, sliced per layer; PEFT's VeraConfig has one r. Attach refuses layers of different ranks.");

        public static readonly DiagnosticDescriptor NolaTooFewBases = Rule("LORA0211",
            "NoLA with fewer than one basis", "'{0}' asks for NoLA with NolaBases = {1}: NoLA needs at least one random basis for A and for B (k >= 1)",
            Usage, DiagnosticSeverity.Error, "NoLA writes A and B as combinations of k frozen random bases and trains the k coefficients; with k < 1 there is nothing to combine.");

        public static readonly DiagnosticDescriptor BasisVariantUnsupported = Rule("LORA0212",
            "VeRA/NoLA where it cannot apply", "'{0}' asks for {1}, but {2}",
            Usage, DiagnosticSeverity.Error, "VeRA and NoLA adapt Linear layers (PEFT's VeRA likewise) on both backends; Embedding layers are not supported.");

        public static readonly DiagnosticDescriptor BasisVariantConflict = Rule("LORA0213",
            "VeRA/NoLA combined with DoRA, PiSSA or OLoRA", "'{0}' asks for {1} together with {2}: its matrices are frozen random projections, which these settings cannot apply to",
            Usage, DiagnosticSeverity.Error, "DoRA adds a magnitude to LoRA's trainable A and B, PiSSA and OLoRA initialise them from W; VeRA and NoLA have no trainable A and B. The runtime refuses the combination.");

        public static readonly DiagnosticDescriptor DoraWithResidualInit = Rule("LORA0216",
            "DoRA combined with PiSSA/OLoRA initialisation", "'{0}' asks for DoRA (UseDora = true) together with {1} initialisation: both backends refuse this at run time; use one or the other",
            Usage, DiagnosticSeverity.Error, "PiSSA and OLoRA rewrite W to the residual W − s·B·A when the adapter is attached, while DoRA's magnitude is taken from the per-output-feature norms of W + s·B·A; LoraGen supports neither order of the two, and LoraConfig (managed) and TorchLoraConfig (TorchSharp) refuse the combination when Attach runs.");
    }
}
