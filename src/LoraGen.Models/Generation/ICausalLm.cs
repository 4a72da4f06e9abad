namespace LoraGen.Generation;

/// <summary>
/// What the decode loop needs of a model, whatever its backend: feed new tokens (continuing the sequence it holds)
/// and get the logits of the last one; start over.
/// </summary>
public interface ICausalLm
{
    /// <summary>The vocabulary size (length of the logits).</summary>
    int VocabSize { get; }

    /// <summary>The most positions a sequence may have.</summary>
    int MaxPositions { get; }

    /// <summary>Forgets the sequence.</summary>
    void Reset();

    /// <summary>Appends <paramref name="tokens"/> to the sequence and returns the logits [vocab] after the last one.</summary>
    float[] Next(ReadOnlySpan<int> tokens);
}
