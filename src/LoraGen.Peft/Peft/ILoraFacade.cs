namespace LoraGen.Peft;

/// <summary>
/// The <c>Lora</c> facade of a <c>[LoraModel]</c> root, as every backend offers it (the managed runtime's and
/// TorchSharp's), with no tensor type: attach, name and switch adapters, merge, disable, summarize, and save/load PEFT
/// adapter directories. Each backend adds its own tensor-typed members (targets, trainable parameters).
/// </summary>
public interface ILoraFacade
{
    /// <summary>The adapter names, in the order they were attached or loaded.</summary>
    IReadOnlyList<string> Names { get; }

    /// <summary>The active adapter, or null before any is attached.</summary>
    string? Active { get; }

    /// <summary>Freezes the base model and adds adapter <paramref name="name"/> to every target (outputs unchanged until training); the first adapter becomes active.</summary>
    ILoraFacade Attach(string name = "default", ulong seed = 0);

    /// <summary>Makes <paramref name="name"/> the adapter used by forward passes and training.</summary>
    void SetActive(string name);

    /// <summary>Removes adapter <paramref name="name"/> from every layer.</summary>
    void Delete(string name);

    /// <summary>Folds the active adapter into the base weights; a second call is a no-op; <paramref name="safe"/> refuses NaN/Inf.</summary>
    void Merge(bool safe = false);

    /// <summary>Undoes <see cref="Merge"/>, restoring the base weights within float rounding.</summary>
    void Unmerge();

    /// <summary>Whether any layer has a merged adapter.</summary>
    bool IsMerged { get; }

    /// <summary>Merges the active adapter, then drops every adapter: a plain base model again.</summary>
    void MergeAndUnload(bool safe = false);

    /// <summary>PEFT's <c>unload()</c>: removes every adapter without merging (unmerging first where one is merged), giving back the untouched base model.</summary>
    void Unload();

    /// <summary>
    /// PEFT's <c>hotswap_adapter</c>: loads the PEFT adapter in <paramref name="directory"/> into the existing adapter
    /// <paramref name="name"/> (same layers, ranks and shapes), without rebuilding the model; every key and shape is
    /// checked before anything changes.
    /// </summary>
    void HotSwap(string directory, string name = "default");

    /// <summary>Within the returned scope the model computes its base outputs (unmerged adapters are skipped).</summary>
    IDisposable Disable();

    /// <summary>PEFT's line: <c>trainable params: 32,768 || all params: 3,274,336 || trainable%: 1.0007</c>.</summary>
    string Summary();

    /// <summary>Writes adapter <paramref name="name"/> (default: the active one) to <paramref name="directory"/> in PEFT's layout, as one unit.</summary>
    void Save(string directory, string? name = null);

    /// <summary>Loads a PEFT LoRA adapter directory as adapter <paramref name="name"/>, checking every key and shape before anything changes.</summary>
    void Load(string directory, string name = "default");
}
