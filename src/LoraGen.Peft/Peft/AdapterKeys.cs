using LoraGen.Contract;

namespace LoraGen.Peft;

/// <summary>
/// PEFT's adapter key names for a layer at a dotted module path: the keys of an <c>adapter_model.safetensors</c>
/// file (the adapter name is not part of them) and the names of the adapter's parameters inside its layer's state
/// dict (where it is).
/// </summary>
public static class AdapterKeys
{
    /// <summary>The adapter weights file of an adapter directory (<c>adapter_model.safetensors</c>).</summary>
    public const string WeightsFile = PeftKeys.WeightsFile;

    /// <summary>The adapter settings file of an adapter directory (<c>adapter_config.json</c>).</summary>
    public const string ConfigFile = PeftKeys.ConfigFile;

    /// <summary>The prefix every adapter file key starts with (<c>base_model.model.</c>).</summary>
    public const string Prefix = PeftKeys.Prefix;

    /// <summary>The file key of A: <c>base_model.model.PATH.lora_A.weight</c> or <c>….lora_embedding_A</c>.</summary>
    public static string A(string path, LayerKind kind) => PeftKeys.A(path, kind == LayerKind.Embedding);

    /// <summary>The file key of B: <c>base_model.model.PATH.lora_B.weight</c> or <c>….lora_embedding_B</c>.</summary>
    public static string B(string path, LayerKind kind) => PeftKeys.B(path, kind == LayerKind.Embedding);

    /// <summary>The file key of DoRA's magnitude vector: <c>base_model.model.PATH.lora_magnitude_vector</c>.</summary>
    public static string Magnitude(string path) => PeftKeys.Magnitude(path);

    /// <summary>A's name inside its layer: <c>lora_A.ADAPTER.weight</c> or <c>lora_embedding_A.ADAPTER</c>.</summary>
    public static string ModuleA(string adapter, LayerKind kind) => PeftKeys.ModuleA(adapter, kind == LayerKind.Embedding);

    /// <summary>DoRA's magnitude name inside its layer: <c>lora_magnitude_vector.ADAPTER.weight</c>.</summary>
    public static string ModuleMagnitude(string adapter) => PeftKeys.ModuleMagnitude(adapter);

    /// <summary>B's name inside its layer: <c>lora_B.ADAPTER.weight</c> or <c>lora_embedding_B.ADAPTER</c>.</summary>
    public static string ModuleB(string adapter, LayerKind kind) => PeftKeys.ModuleB(adapter, kind == LayerKind.Embedding);

    /// <summary>
    /// The inverse of <see cref="A"/>, <see cref="B"/> and <see cref="Magnitude"/>: whether <paramref name="key"/> is
    /// an adapter file key of one of them, and for which module path, layer kind and part. A magnitude key reports
    /// <see cref="LayerKind.Linear"/> (its name does not tell the kind). Any other key (a saved module, a key
    /// without <see cref="Prefix"/>, an empty path) gives false.
    /// </summary>
    public static bool TryParse(string key, out string path, out LayerKind kind, out AdapterKeyPart part)
    {
        ArgumentNullException.ThrowIfNull(key);
        path = "";
        kind = LayerKind.Linear;
        part = AdapterKeyPart.A;
        if (!key.StartsWith(Prefix, StringComparison.Ordinal)) return false;
        var rest = key[Prefix.Length..];
        foreach (var (suffix, k, p) in Forms)
        {
            if (rest.Length <= suffix.Length || !rest.EndsWith(suffix, StringComparison.Ordinal)) continue;
            path = rest[..^suffix.Length];
            kind = k;
            part = p;
            return true;
        }
        return false;
    }

    /// <summary>Each key form as the suffix after the module path, built from the same templates as the keys.</summary>
    private static readonly (string Suffix, LayerKind Kind, AdapterKeyPart Part)[] Forms =
    [
        (A("", LayerKind.Linear)[Prefix.Length..], LayerKind.Linear, AdapterKeyPart.A),
        (B("", LayerKind.Linear)[Prefix.Length..], LayerKind.Linear, AdapterKeyPart.B),
        (A("", LayerKind.Embedding)[Prefix.Length..], LayerKind.Embedding, AdapterKeyPart.A),
        (B("", LayerKind.Embedding)[Prefix.Length..], LayerKind.Embedding, AdapterKeyPart.B),
        (Magnitude("")[Prefix.Length..], LayerKind.Linear, AdapterKeyPart.Magnitude),
    ];
}
