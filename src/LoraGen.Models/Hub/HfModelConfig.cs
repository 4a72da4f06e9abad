namespace LoraGen.Hub;

/// <summary>
/// The parts of a transformers <c>config.json</c> every supported family has, typed. A family's own fields live in
/// <see cref="Gpt2Config"/> and <see cref="LlamaConfig"/>; <see cref="HfConfig.Read"/> picks the family by
/// <c>model_type</c>.
/// </summary>
public abstract record HfModelConfig
{
    /// <summary><c>model_type</c> as written in the file.</summary>
    public required string ModelType { get; init; }

    /// <summary>The vocabulary size (rows of the token embedding and of the output head).</summary>
    public required int VocabSize { get; init; }

    /// <summary>The model width d.</summary>
    public required int HiddenSize { get; init; }

    /// <summary>The number of transformer blocks.</summary>
    public required int Layers { get; init; }

    /// <summary>Query heads.</summary>
    public required int Heads { get; init; }

    /// <summary>Key/value heads (equal to <see cref="Heads"/> without grouped-query attention).</summary>
    public required int KeyValueHeads { get; init; }

    /// <summary>The width of one head.</summary>
    public int HeadDim => HiddenSize / Heads;

    /// <summary>The longest sequence the model supports (<c>n_positions</c> / <c>max_position_embeddings</c>).</summary>
    public required int MaxPositions { get; init; }

    /// <summary>Whether the output head shares the token embedding's weight.</summary>
    public required bool TieWordEmbeddings { get; init; }

    /// <summary><c>bos_token_id</c>, or null.</summary>
    public int? BosTokenId { get; init; }

    /// <summary><c>eos_token_id</c> (one or several), empty when absent.</summary>
    public int[] EosTokenIds { get; init; } = [];

    /// <summary><c>torch_dtype</c>, or null (informational: the loader reads each tensor's own dtype).</summary>
    public string? TorchDType { get; init; }
}
