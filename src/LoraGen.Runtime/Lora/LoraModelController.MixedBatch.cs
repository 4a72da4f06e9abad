using LoraGen.Contract;

namespace LoraGen.Lora;

public sealed partial class LoraModelController
{
    /// <summary>PEFT's <c>adapter_names</c> entry for a row that runs the base model alone.</summary>
    public const string BaseRow = PeftKeys.BaseAdapterName;

    /// <summary>
    /// PEFT's <c>adapter_names=</c> in forward: within the returned scope, row b of every batch (the first dimension of
    /// the input) runs through adapter <paramref name="adapterNames"/>[b] alone — <see cref="BaseRow"/> for none — without
    /// merging, so one batch serves several fine-tunes of one base. Inference only (the model in Eval mode); not
    /// together with a merge. An unknown name throws before anything changes. One mixed batch at a time per model.
    /// </summary>
    public IDisposable MixedBatch(IReadOnlyList<string> adapterNames)
    {
        ArgumentNullException.ThrowIfNull(adapterNames);
        lock (_gate)
        {
            foreach (var n in adapterNames.Distinct())
                if (n != BaseRow && !_names.Contains(n))
                    throw new KeyNotFoundException($"No adapter named '{n}' (have: {string.Join(", ", _names)}; '{BaseRow}' for the base model).");
            var slots = Slots().ToList();
            foreach (var s in slots) s.RowAdapters = adapterNames;
            return new MixedScope(slots);
        }
    }

    private sealed class MixedScope(List<LoraLayer> slots) : IDisposable
    {
        public void Dispose()
        {
            foreach (var s in slots) s.RowAdapters = null;
        }
    }
}
