using LoraGen.Contract;
using LoraGen.Peft;
using LoraGen.SafeTensors;

namespace LoraGen.Cli;

/// <summary>
/// Reads an adapter file's keys back into layers (the inverse of <see cref="AdapterKeys.A"/>/<see cref="AdapterKeys.B"/>):
/// every LoRA layer with both A and B, the keys that are no LoRA factor (DoRA magnitudes, saved modules, …), and
/// factors whose partner is missing.
/// </summary>
internal sealed class AdapterLayout
{
    public required IReadOnlyList<LoraLayerKeys> Layers { get; init; }
    public required IReadOnlyList<string> OtherKeys { get; init; }
    public required IReadOnlyList<string> Unpaired { get; init; }

    public static AdapterLayout Of(SafetensorsFile file)
    {
        var layers = new Dictionary<(string, LayerKind), (string? A, string? B)>();
        var order = new List<(string, LayerKind)>();
        var other = new List<string>();
        foreach (var t in file.Tensors)
        {
            if (!TryParse(t.Name, out var path, out var kind, out bool isA)) { other.Add(t.Name); continue; }
            if (!layers.TryGetValue((path, kind), out var ab)) order.Add((path, kind));
            layers[(path, kind)] = isA ? (t.Name, ab.B) : (ab.A, t.Name);
        }
        var result = new List<LoraLayerKeys>();
        var unpaired = new List<string>();
        foreach (var k in order.OrderBy(k => k.Item1, StringComparer.Ordinal))
        {
            var (a, b) = layers[k];
            if (a is null || b is null) unpaired.Add(a ?? b!);
            else result.Add(new LoraLayerKeys(k.Item1, k.Item2, a, b));
        }
        return new AdapterLayout { Layers = result, OtherKeys = other, Unpaired = unpaired };
    }

    /// <summary>Whether <paramref name="key"/> is a LoRA A or B key, and of which layer.</summary>
    public static bool TryParse(string key, out string path, out LayerKind kind, out bool isA)
    {
        path = "";
        kind = LayerKind.Linear;
        isA = false;
        if (!key.StartsWith(PeftKeys.Prefix, StringComparison.Ordinal)) return false;
        var rest = key[PeftKeys.Prefix.Length..];
        (string Suffix, LayerKind Kind, bool IsA)[] forms =
        [
            ("." + PeftKeys.LinearA + PeftKeys.WeightSuffix, LayerKind.Linear, true),
            ("." + PeftKeys.LinearB + PeftKeys.WeightSuffix, LayerKind.Linear, false),
            ("." + PeftKeys.EmbeddingA, LayerKind.Embedding, true),
            ("." + PeftKeys.EmbeddingB, LayerKind.Embedding, false),
        ];
        foreach (var f in forms)
        {
            if (!rest.EndsWith(f.Suffix, StringComparison.Ordinal) || rest.Length == f.Suffix.Length) continue;
            path = rest[..^f.Suffix.Length];
            kind = f.Kind;
            isA = f.IsA;
            return true;
        }
        return false;
    }

    /// <summary>The base key a non-LoRA adapter key stands for (a saved module's weight: the key without PEFT's prefix).</summary>
    public static string? BaseKeyOf(string otherKey) =>
        otherKey.StartsWith(PeftKeys.Prefix, StringComparison.Ordinal) ? otherKey[PeftKeys.Prefix.Length..] : null;
}
