namespace LoraGen.Generation;

/// <summary>The decode loop: prefill the prompt, then sample one token at a time until a stop token, the budget or the context runs out.</summary>
public static class TextGenerator
{
    /// <summary>
    /// The new token ids after <paramref name="prompt"/> (stop token excluded). <paramref name="onToken"/> sees each
    /// as it is chosen.
    /// </summary>
    public static IReadOnlyList<int> Generate(ICausalLm model, ReadOnlySpan<int> prompt, SamplingOptions options, Action<int>? onToken = null)
    {
        if (prompt.Length == 0) throw new ArgumentException("the prompt has no tokens (give at least one, e.g. the bos token).");
        if (prompt.Length > model.MaxPositions) throw new ArgumentException($"the prompt has {prompt.Length} tokens; the model holds at most {model.MaxPositions}.");
        var sampler = new Sampler(options);
        var output = new List<int>();
        model.Reset();
        var logits = model.Next(prompt);
        int length = prompt.Length;
        while (output.Count < options.MaxNewTokens)
        {
            int next = sampler.Next(logits);
            if (options.StopTokens.Contains(next)) break;
            output.Add(next);
            onToken?.Invoke(next);
            if (++length >= model.MaxPositions || output.Count == options.MaxNewTokens) break;
            logits = model.Next([next]);
        }
        return output;
    }
}
