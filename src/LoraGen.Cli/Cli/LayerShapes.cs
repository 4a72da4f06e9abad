using LoraGen.Peft;
using LoraGen.SafeTensors;

namespace LoraGen.Cli;

/// <summary>How a LoRA layer's A and B must fit the base weight they adapt (PEFT's layouts).</summary>
internal static class LayerShapes
{
    /// <summary>
    /// Whether the base weight is stored transposed relative to B·A: <c>fan_in_fan_out</c> Linear weights are
    /// <c>[in, out]</c> (GPT-2's Conv1D), and embedding weights <c>[num, dim]</c> take (B·A)ᵀ.
    /// </summary>
    public static bool Transposed(LayerKind kind, bool fanInFanOut) => kind == LayerKind.Embedding || fanInFanOut;

    /// <summary>Null when the shapes fit, else what is wrong, naming the keys.</summary>
    public static string? Problem(LoraLayerKeys layer, long[] baseShape, long[] a, long[] b, bool fanInFanOut, int? configRank)
    {
        string S(long[] s) => "[" + string.Join(", ", s) + "]";
        if (a.Length != 2 || b.Length != 2) return $"{layer.AKey} {S(a)} and {layer.BKey} {S(b)} must both be 2-D";
        if (baseShape.Length != 2) return $"base {layer.BaseKey} is {S(baseShape)}, not 2-D";
        long r = a[0];
        if (b[1] != r) return $"{layer.AKey} has rank {r} but {layer.BKey} has {b[1]}";
        if (configRank is int cr && cr != r) return $"{layer.AKey} has rank {r} but the config gives this layer r = {cr}";
        bool t = Transposed(layer.Kind, fanInFanOut);
        long outF = t ? baseShape[1] : baseShape[0], inF = t ? baseShape[0] : baseShape[1];
        if (a[1] != inF || b[0] != outF)
            return $"{layer.AKey} {S(a)} and {layer.BKey} {S(b)} do not fit base {layer.BaseKey} {S(baseShape)}" +
                   (t ? " (stored [in, out])" : "") + $": expected A [r, {inF}] and B [{outF}, r]";
        return null;
    }

    public static string Shape(SafetensorsTensorInfo i) => "[" + string.Join(", ", i.Shape) + "]";
}
