using LoraGen.Autograd;
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
    public Tensor Forward(int[] ids, int b, int t, KvCache? cache = null) => Output(Hidden(ids, b, t, cache));

    /// <summary>ids [b, t] → hidden states [b, t, d] after the final norm (the input of <see cref="Output"/>); the cache as <see cref="Forward"/>.</summary>
    public abstract Tensor Hidden(int[] ids, int b, int t, KvCache? cache = null);

    /// <summary>hidden [b, t, d] → logits [b, t, vocab]: lm_head (with its adapter and base format), or the tied embedding.</summary>
    public abstract Tensor Output(Tensor hidden);

    /// <summary>
    /// Inference: feeds ids [b, t] through the model (continuing <paramref name="cache"/>) and returns only the last
    /// position's logits [b, 1, vocab]: the output head, the largest single product at decode time (vocab × d), runs
    /// for one row per sequence instead of t. No gradients are recorded.
    /// </summary>
    public Tensor ForwardLast(int[] ids, int b, int t, KvCache? cache = null)
    {
        using var _ = GradMode.NoGrad();
        var hidden = Hidden(ids, b, t, cache);
        if (t == 1) return Output(hidden);
        int d = hidden.Dim(2);
        var last = new float[b * d];
        for (int i = 0; i < b; i++) hidden.Data.Slice((i * t + t - 1) * d, d).CopyTo(last.AsSpan(i * d, d));
        return Output(Tensor.FromArray(last, b, 1, d));
    }

    /// <summary>An empty cache for batch <paramref name="batch"/> of up to <paramref name="capacity"/> positions (at most the model's).</summary>
    public KvCache NewCache(int capacity, int batch = 1) =>
        new(Config.Layers, batch, Config.KeyValueHeads, Math.Min(capacity, Config.MaxPositions), Config.HeadDim);

    /// <summary>
    /// Streams every weight from <paramref name="checkpoint"/> into this model's parameters, one tensor at a time (no
    /// second copy of the model is held). All keys and shapes are checked before any is read; a tensor that fails to
    /// read midway leaves this model part-filled, so load into a fresh model (as <see cref="HfModels.Load"/> does) and
    /// drop it on error. Returns whether the file keys carried the layout's optional prefix.
    /// </summary>
    public bool LoadWeights(Checkpoint checkpoint)
    {
        var layout = Layout;
        var state = StateDict().ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var spec in layout.Specs)
            if (!state.TryGetValue(spec.Key, out var p)) problems.Add($"{spec.Key} has no parameter");
            else if (spec.ElementCount != p.Size) problems.Add($"{spec.Key}: {spec.ElementCount} values for {p.ShapeString}");
        foreach (var key in state.Keys)
            if (!layout.Specs.Any(s => s.Key == key)) problems.Add($"{key} is not in the layout");
        if (problems.Count > 0) throw new InvalidOperationException($"{GetType().Name}: the layout does not fit the model: {string.Join("; ", problems)}");
        return checkpoint.ReadInto(layout, key => state[key].Storage[..state[key].Size]);
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
