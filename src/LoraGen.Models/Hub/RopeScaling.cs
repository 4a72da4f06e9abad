namespace LoraGen.Hub;

/// <summary>
/// <c>rope_scaling</c> of a Llama config. <see cref="HfConfig.RopeTypes"/> lists the types LoraGen honours:
/// <c>default</c>, <c>linear</c> (positions divided by <see cref="Factor"/>), <c>dynamic</c> (NTK-aware: θ's base grows
/// with the sequence length beyond <c>max_position_embeddings</c>), <c>yarn</c> (YaRN: a ramp between interpolated and
/// extrapolated frequencies, and an attention scaling factor) and <c>llama3</c> (Llama 3.1's frequency-dependent rescaling).
/// </summary>
/// <param name="Type"><c>rope_type</c> (or the older <c>type</c>).</param>
/// <param name="Factor"><c>factor</c>.</param>
/// <param name="LowFreqFactor">llama3: <c>low_freq_factor</c>.</param>
/// <param name="HighFreqFactor">llama3: <c>high_freq_factor</c>.</param>
/// <param name="OriginalMaxPositions">
/// llama3 and yarn: <c>original_max_position_embeddings</c> (yarn: the config's <c>max_position_embeddings</c> when absent).
/// </param>
/// <param name="BetaFast">yarn: <c>beta_fast</c>, the rotation count where the ramp starts (32 when absent or 0).</param>
/// <param name="BetaSlow">yarn: <c>beta_slow</c>, the rotation count where it ends (1 when absent or 0).</param>
/// <param name="AttentionFactor">yarn: <c>attention_factor</c>, or null to derive it from <see cref="Factor"/> and the mscales.</param>
/// <param name="Mscale">yarn: <c>mscale</c> (DeepSeek-style), or null.</param>
/// <param name="MscaleAllDim">yarn: <c>mscale_all_dim</c>, or null.</param>
/// <param name="Truncate">yarn: <c>truncate</c>: round the ramp's bounds to whole dimensions (true when absent).</param>
public sealed record RopeScaling(string Type, double Factor, double LowFreqFactor = 1, double HighFreqFactor = 4, int OriginalMaxPositions = 8192,
    double BetaFast = 32, double BetaSlow = 1, double? AttentionFactor = null, double? Mscale = null, double? MscaleAllDim = null, bool Truncate = true);
