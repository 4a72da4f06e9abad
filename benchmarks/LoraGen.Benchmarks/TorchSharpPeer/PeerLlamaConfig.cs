using LoraGen.Hub;

namespace LoraGen.Benchmarks.TorchSharpPeer;

/// <summary>
/// The hand-written TorchSharp Llama's sizes (<see cref="PeerLlamaForCausalLM"/>): those of a transformers Llama
/// config.json, plus the hand-written LoRA's rank and alpha on q_proj and v_proj. Biases and untied heads are not
/// modelled (SmolLM2 has neither).
/// </summary>
public sealed record PeerLlamaConfig(int Vocab, int Dim, int Layers, int Heads, int KvHeads, int HeadDim, int Mlp,
    double RmsNormEps, double RopeTheta, int Rank, double Alpha)
{
    /// <summary>The peer for <paramref name="config"/> (as read by the managed Llama family), LoRA r <paramref name="rank"/> / <paramref name="alpha"/>.</summary>
    public static PeerLlamaConfig From(LlamaConfig config, int rank, double alpha)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!config.TieWordEmbeddings || config.AttentionBias || config.MlpBias || config.RopeScaling is not null)
            throw new ArgumentException("the TorchSharp Llama peer models tied embeddings, no biases and plain RoPE only (SmolLM2's shape).", nameof(config));
        return new(config.VocabSize, config.HiddenSize, config.Layers, config.Heads, config.KeyValueHeads, config.HeadDim,
            config.IntermediateSize, config.RmsNormEps, config.RopeTheta, rank, alpha);
    }
}
