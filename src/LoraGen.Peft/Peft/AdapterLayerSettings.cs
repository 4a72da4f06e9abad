namespace LoraGen.Peft;

/// <summary>
/// One adapted layer's settings as a backend sees them, with no tensor: what <see cref="AdapterConfig.FromLayers"/>
/// needs to write a config that reproduces every layer.
/// </summary>
/// <param name="Path">The layer's dotted module path (<c>h.0.attn.q_proj</c>).</param>
/// <param name="Rank">r of the layer's adapter.</param>
/// <param name="Alpha">α of the layer's adapter.</param>
/// <param name="Dropout">The adapter's dropout probability.</param>
/// <param name="UseRsLora">Whether the layer scales by α/√r.</param>
/// <param name="Init">How the layer's A was initialized.</param>
/// <param name="UseDora">Whether the layer's adapter is DoRA (PEFT's one <c>use_dora</c> flag: all layers or none).</param>
public sealed record AdapterLayerSettings(string Path, int Rank, double Alpha, double Dropout, bool UseRsLora, LoraInit Init, bool UseDora = false);
