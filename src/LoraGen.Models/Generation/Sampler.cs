namespace LoraGen.Generation;

/// <summary>Chooses the next token from logits: greedy, or temperature / top-k / top-p sampling (see <see cref="SamplingOptions"/>).</summary>
public sealed class Sampler
{
    private readonly SamplingOptions _options;
    private readonly Random _random;

    /// <summary>Creates a sampler; the random stream is seeded from the options.</summary>
    public Sampler(SamplingOptions options)
    {
        options.Validate();
        _options = options;
        _random = new Random(options.Seed);
    }

    /// <summary>The chosen token id.</summary>
    public int Next(ReadOnlySpan<float> logits)
    {
        if (logits.Length == 0) throw new ArgumentException("no logits");
        if (_options.Temperature == 0) return ArgMax(logits);
        // Candidates sorted by logit, descending (ties by id, so runs are reproducible).
        var order = Enumerable.Range(0, logits.Length).ToArray();
        var values = logits.ToArray();
        Array.Sort(order, (a, b) => values[b] != values[a] ? values[b].CompareTo(values[a]) : a.CompareTo(b));
        int keep = _options.TopK > 0 ? Math.Min(_options.TopK, order.Length) : order.Length;
        var probs = new double[keep];
        double max = values[order[0]], sum = 0;
        for (int i = 0; i < keep; i++) sum += probs[i] = Math.Exp((values[order[i]] - max) / _options.Temperature);
        for (int i = 0; i < keep; i++) probs[i] /= sum;
        if (_options.TopP < 1)
        {
            double mass = 0;
            int n = 0;
            while (n < keep && mass < _options.TopP) mass += probs[n++];
            keep = Math.Max(1, n);
        }
        double total = 0;
        for (int i = 0; i < keep; i++) total += probs[i];
        double r = _random.NextDouble() * total;
        for (int i = 0; i < keep; i++)
        {
            r -= probs[i];
            if (r <= 0) return order[i];
        }
        return order[keep - 1];
    }

    /// <summary>The index of the largest value (the first on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> xs)
    {
        int best = 0;
        for (int i = 1; i < xs.Length; i++) if (xs[i] > xs[best]) best = i;
        return best;
    }
}
