namespace LoraGen.Hub;

/// <summary>
/// Llama's rotary position embedding as tables: θ_i = rope_theta^(−2i/d) per pair of dimensions, rescaled by
/// <c>rope_scaling</c> (linear: positions ÷ factor; llama3: long wavelengths ÷ factor, short kept, a smooth blend
/// between), and cos/sin of position·θ_i. Pairs are (i, i + d/2) — transformers' rotate_half convention.
/// </summary>
public static class RotaryFrequencies
{
    /// <summary>θ_i for i in [0, headDim/2), after llama3 rescaling.</summary>
    public static double[] Inverse(LlamaConfig config)
    {
        int hd = config.HeadDim, half = hd / 2;
        var inv = new double[half];
        for (int i = 0; i < half; i++) inv[i] = 1.0 / Math.Pow(config.RopeTheta, 2.0 * i / hd);
        if (config.RopeScaling is not { Type: "llama3" } s) return inv;
        double lowWavelen = s.OriginalMaxPositions / s.LowFreqFactor, highWavelen = s.OriginalMaxPositions / s.HighFreqFactor;
        for (int i = 0; i < half; i++)
        {
            double wavelen = 2 * Math.PI / inv[i];
            if (wavelen > lowWavelen) inv[i] /= s.Factor;                  // long wavelengths: scaled
            else if (wavelen >= highWavelen)                                // the band between: blended
            {
                double smooth = (s.OriginalMaxPositions / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                inv[i] = (1 - smooth) * inv[i] / s.Factor + smooth * inv[i];
            }
        }
        return inv;
    }

    /// <summary>cos and sin of position·θ_i, each [positions, headDim/2], row-major.</summary>
    public static (float[] Cos, float[] Sin) Tables(LlamaConfig config, int positions)
    {
        var inv = Inverse(config);
        double posScale = config.RopeScaling is { Type: "linear" } s ? 1.0 / s.Factor : 1.0;
        int half = inv.Length;
        var cos = new float[positions * half];
        var sin = new float[positions * half];
        for (int p = 0; p < positions; p++)
            for (int i = 0; i < half; i++)
            {
                double a = p * posScale * inv[i];
                cos[p * half + i] = (float)Math.Cos(a);
                sin[p * half + i] = (float)Math.Sin(a);
            }
        return (cos, sin);
    }
}
