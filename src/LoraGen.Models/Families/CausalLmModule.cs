using LoraGen.Hub;
using LoraGen.Lora;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.SafeTensors;
using LoraGen.Tensors;

namespace LoraGen.Families;

/// <summary>
/// A Hugging Face causal language model on the managed runtime: its config, its weight layout, a forward pass with or
/// without a <see cref="KvCache"/>, and loading from / saving to a transformers model directory.
/// </summary>
public abstract class CausalLmModule : Module
{
    /// <summary>The config the model was built from.</summary>
    public abstract HfModelConfig Config { get; }

    /// <summary>Where each weight sits in a checkpoint.</summary>
    public WeightLayout Layout => WeightLayout.For(Config);

    /// <summary>
    /// ids [b, t] (row-major) → logits [b, t, vocab]. With <paramref name="cache"/> the ids continue the cached
    /// sequence (positions cache.Length…), the cache is extended, and gradients are not recorded.
    /// </summary>
    public abstract Tensor Forward(int[] ids, int b, int t, KvCache? cache = null);

    /// <summary>An empty cache for batch <paramref name="batch"/> of up to <paramref name="capacity"/> positions (at most the model's).</summary>
    public KvCache NewCache(int capacity, int batch = 1) =>
        new(Config.Layers, batch, Config.KeyValueHeads, Math.Min(capacity, Config.MaxPositions), Config.HeadDim);

    /// <summary>
    /// Copies every weight from the checkpoint's arrays (model key → backend-layout data, as
    /// <see cref="Checkpoint.ReadAll"/> returns them). All keys are checked before any is copied.
    /// </summary>
    public void LoadWeights(IReadOnlyDictionary<string, float[]> weights)
    {
        var state = StateDict();
        var problems = new List<string>();
        foreach (var (key, p) in state)
            if (!weights.TryGetValue(key, out var w)) problems.Add($"{key} missing");
            else if (w.Length != p.Size) problems.Add($"{key}: {w.Length} values for {p.ShapeString}");
        foreach (var key in weights.Keys)
            if (!state.Any(kv => kv.Key == key)) problems.Add($"{key} has no parameter");
        if (problems.Count > 0) throw new InvalidOperationException($"{GetType().Name}: the weights do not fit: {string.Join("; ", problems)}");
        foreach (var (key, p) in state) weights[key].CopyTo(p.Data);
    }

    /// <summary>
    /// Writes the model as a transformers model directory in <paramref name="outDirectory"/>, laid out as
    /// <paramref name="sourceDirectory"/> is (key prefix, shards, dtype unless <paramref name="dtype"/> is given), with
    /// its config and tokenizer files copied. An attached adapter must be merged first (its ΔW is then in the weights).
    /// </summary>
    public void SavePretrained(string outDirectory, string sourceDirectory, SafetensorsDType? dtype = null)
    {
        foreach (var (path, m) in NamedModules())
            if (m is IAdaptableLayer { Adapter: { IsMerged: false } })
                throw new InvalidOperationException($"{path} holds an unmerged adapter: call Lora.Merge() or Lora.MergeAndUnload() before saving the merged model.");
        using var source = Checkpoint.Open(sourceDirectory);
        var layout = Layout;
        bool prefixInFile = layout.PrefixInFile(source.Contains);
        var weights = StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Data.ToArray(), StringComparer.Ordinal);
        CheckpointWriter.Save(outDirectory, sourceDirectory, layout, weights, prefixInFile, source.Index, dtype ?? source.DType);
    }

    /// <summary>
    /// A LoRA facade with settings chosen at run time (targets, rank, α, base model name) instead of the class's
    /// compile-time <c>[LoraModel]</c> ones. GPT-2's Conv1D layers are marked <c>fan_in_fan_out</c>, as PEFT marks them.
    /// </summary>
    public abstract LoraModelController LoraWith(LoraModelOptions options);

    /// <summary>The family's compile-time <c>[LoraModel]</c> settings (its default targets, rank and α).</summary>
    public abstract LoraModelOptions DefaultLoraOptions { get; }

    /// <summary>Logits of the last position: logits [b, t, vocab] → [vocab] of row <paramref name="row"/>.</summary>
    public static float[] LastLogits(Tensor logits, int row = 0)
    {
        int t = logits.Dim(1), v = logits.Dim(2);
        return logits.Data.Slice((row * t + t - 1) * v, v).ToArray();
    }

    /// <summary>Head projection: x [b, t, d] · Wᵀ with W [vocab, d] (the tied embedding or lm_head).</summary>
    protected static Tensor Head(Tensor x, Tensor weight) => x.Linear(weight);
}
