namespace LoraGen.Hub;

/// <summary>
/// <c>rope_scaling</c> of a Llama config. <see cref="HfConfig.RopeTypes"/> lists the types LoraGen honours:
/// <c>default</c>, <c>linear</c> (positions divided by <see cref="Factor"/>) and <c>llama3</c> (Llama 3.1's
/// frequency-dependent rescaling).
/// </summary>
/// <param name="Type"><c>rope_type</c> (or the older <c>type</c>).</param>
/// <param name="Factor"><c>factor</c>.</param>
/// <param name="LowFreqFactor">llama3: <c>low_freq_factor</c>.</param>
/// <param name="HighFreqFactor">llama3: <c>high_freq_factor</c>.</param>
/// <param name="OriginalMaxPositions">llama3: <c>original_max_position_embeddings</c>.</param>
public sealed record RopeScaling(string Type, double Factor, double LowFreqFactor = 1, double HighFreqFactor = 4, int OriginalMaxPositions = 8192);
