using LoraGen.Tensors;

namespace LoraGen.Lora;

/// <summary>
/// An adapter slot that is not a low-rank pair but one of PEFT's auxiliary training modules, kept per adapter name
/// and switched with the active adapter: a full trainable copy (<c>modules_to_save</c>, <see cref="SavedModuleSlot"/>)
/// or trained embedding rows (<c>trainable_token_indices</c>, <see cref="TrainableTokensSlot"/>). The <c>Lora</c>
/// facade drives them next to the <see cref="LoraLayer"/>s.
/// </summary>
internal interface IAuxiliarySlot
{
    /// <summary>The adapters this slot holds something for.</summary>
    IReadOnlyCollection<string> Names { get; }

    /// <summary>Uses adapter <paramref name="name"/>'s copy; an adapter the slot does not hold means the base layer (as PEFT).</summary>
    void SetActive(string? name);

    /// <summary>Drops adapter <paramref name="name"/>'s copy (unmerging first if it is merged).</summary>
    void Remove(string name);

    /// <summary>Writes the active copy into the base weight (merge by replacement); a second call is a no-op.</summary>
    void Merge(bool safe);

    /// <summary>Restores the base weight bit for bit.</summary>
    void Unmerge();

    /// <summary>Whether a copy is written into the base weight.</summary>
    bool IsMerged { get; }

    /// <summary>When true the forward pass computes the base layer's output.</summary>
    bool Disabled { get; set; }

    /// <summary>The trainable tensors of adapter <paramref name="name"/> (empty when the slot holds none for it).</summary>
    IEnumerable<Tensor> ParametersOf(string name);
}
