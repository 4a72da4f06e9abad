namespace LoraGen.Hub;

/// <summary>
/// Llama's rotary position embedding as tables: θ_i = rope_theta^(−2i/d) per pair of dimensions, rescaled by
/// <c>rope_scaling</c>, and cos/sin of position·θ_i times the attention factor. Pairs are (i, i + d/2) —
/// transformers' rotate_half convention. The scalings, as transformers computes them:
/// <list type="bullet">
/// <item><c>linear</c>: positions ÷ factor.</item>
/// <item><c>dynamic</c> (NTK-aware): for a sequence of L &gt; max_position_embeddings (M) positions the base becomes
/// rope_theta·(factor·L/M − (factor − 1))^(d/(d−2)); up to M it is plain RoPE — and LoraGen's tables stop at M.</item>
/// <item><c>yarn</c>: θ_i blends θ_i/factor (interpolated) and θ_i (extrapolated) along a linear ramp over the
/// dimension indices between the ones that turn beta_fast and beta_slow times over the original context; cos and sin
/// are multiplied by the attention factor (0.1·ln(factor) + 1 unless the config gives it or both mscales).</item>
/// <item><c>llama3</c>: long wavelengths ÷ factor, short kept, a smooth blend between.</item>
/// </list>
/// </summary>
public static class RotaryFrequencies
{
    /// <summary>θ_i for i in [0, headDim/2), after rescaling, for sequences up to max_position_embeddings.</summary>
    public static double[] Inverse(LlamaConfig config) => Inverse(config, config.MaxPositions);

    /// <summary>
    /// θ_i for i in [0, headDim/2), after rescaling, for a sequence of <paramref name="sequenceLength"/> positions (only
    /// <c>dynamic</c> depends on it, and only beyond max_position_embeddings).
    /// </summary>
    public static double[] Inverse(LlamaConfig config, int sequenceLength)
    {
        ArgumentNullException.ThrowIfNull(config);
        int hd = config.HeadDim, half = hd / 2;
        double theta = config.RopeTheta;
        if (config.RopeScaling is { Type: "dynamic" } dyn && sequenceLength > config.MaxPositions)
            theta *= Math.Pow(dyn.Factor * sequenceLength / config.MaxPositions - (dyn.Factor - 1), hd / (hd - 2.0));
        var inv = new double[half];
        for (int i = 0; i < half; i++) inv[i] = 1.0 / Math.Pow(theta, 2.0 * i / hd);
        switch (config.RopeScaling)
        {
            case { Type: "llama3" } s: Llama3(inv, s); break;
            case { Type: "yarn" } s: Yarn(inv, s, hd, config.RopeTheta); break;
        }
        return inv;
    }

    /// <summary>
    /// The factor cos and sin are multiplied by: yarn's <c>attention_factor</c> (given, or mscale(factor, mscale) ÷
    /// mscale(factor, mscale_all_dim) when both are non-zero, else mscale(factor, 1), with mscale(s, m) = 0.1·m·ln s + 1
    /// for s &gt; 1 and 1 otherwise); 1 for every other type.
    /// </summary>
    public static double AttentionFactor(LlamaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.RopeScaling is not { Type: "yarn" } s) return 1.0;
        if (s.AttentionFactor is { } given) return given;
        static double Mscale(double scale, double m) => scale <= 1 ? 1.0 : 0.1 * m * Math.Log(scale) + 1.0;
        return s.Mscale is { } m && m != 0 && s.MscaleAllDim is { } all && all != 0
            ? Mscale(s.Factor, m) / Mscale(s.Factor, all)
            : Mscale(s.Factor, 1);
    }

    // Llama 3.1: wavelengths longer than original/low_freq_factor are divided by factor, shorter than
    // original/high_freq_factor kept, and the band between blended linearly in original/wavelength.
    private static void Llama3(double[] inv, RopeScaling s)
    {
        double lowWavelen = s.OriginalMaxPositions / s.LowFreqFactor, highWavelen = s.OriginalMaxPositions / s.HighFreqFactor;
        for (int i = 0; i < inv.Length; i++)
        {
            double wavelen = 2 * Math.PI / inv[i];
            if (wavelen > lowWavelen) inv[i] /= s.Factor;                  // long wavelengths: scaled
            else if (wavelen >= highWavelen)                                // the band between: blended
            {
                double smooth = (s.OriginalMaxPositions / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                inv[i] = (1 - smooth) * inv[i] / s.Factor + smooth * inv[i];
            }
        }
    }

    // YaRN: the dimension index that turns n times over the original context L is d·ln(L/(2πn)) / (2·ln θ). Between the
    // indices for beta_fast (low) and beta_slow (high) a ramp r_i = clamp((i − low)/(high − low), 0, 1) moves θ_i from
    // extrapolated (θ_i, r = 0) to interpolated (θ_i/factor, r = 1): θ_i·(1 − r_i) + θ_i/factor·r_i.
    private static void Yarn(double[] inv, RopeScaling s, int hd, double theta)
    {
        double Dim(double rotations) => hd * Math.Log(s.OriginalMaxPositions / (rotations * 2 * Math.PI)) / (2 * Math.Log(theta));
        double low = Dim(s.BetaFast), high = Dim(s.BetaSlow);
        if (s.Truncate) (low, high) = (Math.Floor(low), Math.Ceiling(high));
        low = Math.Max(low, 0);
        high = Math.Min(high, hd - 1);
        if (low == high) high += 0.001;   // as transformers: no zero-width ramp
        for (int i = 0; i < inv.Length; i++)
        {
            double ramp = Math.Clamp((i - low) / (high - low), 0, 1);
            inv[i] = inv[i] / s.Factor * ramp + inv[i] * (1 - ramp);
        }
    }

    /// <summary>cos and sin of position·θ_i times <see cref="AttentionFactor"/>, each [positions, headDim/2], row-major.</summary>
    public static (float[] Cos, float[] Sin) Tables(LlamaConfig config, int positions)
    {
        var inv = Inverse(config);
        double posScale = config.RopeScaling is { Type: "linear" } s ? 1.0 / s.Factor : 1.0;
        double attention = AttentionFactor(config);
        int half = inv.Length;
        var cos = new float[positions * half];
        var sin = new float[positions * half];
        for (int p = 0; p < positions; p++)
            for (int i = 0; i < half; i++)
            {
                double a = p * posScale * inv[i];
                cos[p * half + i] = (float)(Math.Cos(a) * attention);
                sin[p * half + i] = (float)(Math.Sin(a) * attention);
            }
        return (cos, sin);
    }
}
