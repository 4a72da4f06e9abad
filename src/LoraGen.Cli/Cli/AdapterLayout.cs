using LoraGen.Peft;
using LoraGen.SafeTensors;

namespace LoraGen.Cli;

/// <summary>
/// Reads an adapter file's keys back into layers (through <see cref="AdapterKeys.TryParse"/>):
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
            if (!AdapterKeys.TryParse(t.Name, out var path, out var kind, out var part) || part == AdapterKeyPart.Magnitude) { other.Add(t.Name); continue; }
            bool isA = part == AdapterKeyPart.A;
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

    /// <summary>The base key a non-LoRA adapter key stands for (a saved module's weight: the key without PEFT's prefix).</summary>
    public static string? BaseKeyOf(string otherKey) =>
        otherKey.StartsWith(AdapterKeys.Prefix, StringComparison.Ordinal) ? otherKey[AdapterKeys.Prefix.Length..] : null;
}
