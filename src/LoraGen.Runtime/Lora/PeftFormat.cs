namespace LoraGen.Lora;

/// <summary>
/// The key and file names of PEFT's LoRA checkpoint layout (the adapter name is not part of the key):
/// <c>base_model.model.PATH.lora_A.weight</c> [r, in] and <c>….lora_B.weight</c> [out, r] for Linear,
/// <c>base_model.model.PATH.lora_embedding_A</c> [r, num] and <c>….lora_embedding_B</c> [dim, r] for Embedding.
/// </summary>
public static class PeftFormat
{
    /// <summary>The adapter weights file.</summary>
    public const string WeightsFile = "adapter_model.safetensors";

    /// <summary>The adapter settings file.</summary>
    public const string ConfigFile = "adapter_config.json";

    /// <summary>Every key starts with this.</summary>
    public const string KeyPrefix = "base_model.model.";

    /// <summary>Suffix of a Linear layer's A.</summary>
    public const string LinearA = ".lora_A.weight";

    /// <summary>Suffix of a Linear layer's B.</summary>
    public const string LinearB = ".lora_B.weight";

    /// <summary>Suffix of an Embedding layer's A.</summary>
    public const string EmbeddingA = ".lora_embedding_A";

    /// <summary>Suffix of an Embedding layer's B.</summary>
    public const string EmbeddingB = ".lora_embedding_B";

    /// <summary>The key of A for the layer at <paramref name="path"/>.</summary>
    public static string KeyA(string path, LoraTargetKind kind) => KeyPrefix + path + (kind == LoraTargetKind.Linear ? LinearA : EmbeddingA);

    /// <summary>The key of B for the layer at <paramref name="path"/>.</summary>
    public static string KeyB(string path, LoraTargetKind kind) => KeyPrefix + path + (kind == LoraTargetKind.Linear ? LinearB : EmbeddingB);

    /// <summary>PEFT's spelling of a bias mode.</summary>
    public static string BiasName(LoraBias bias) => bias switch
    {
        LoraBias.All => "all",
        LoraBias.LoraOnly => "lora_only",
        _ => "none",
    };
}

/// <summary>
/// An adapter directory could not be loaded: wrong <c>peft_type</c>, unsupported options, or tensors that do
/// not fit the model. Names the directory and every offending key; nothing was changed.
/// </summary>
public sealed class LoraAdapterException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LoraAdapterException(string directory, string detail, IReadOnlyList<string>? missing = null,
        IReadOnlyList<string>? unexpected = null, IReadOnlyList<string>? mismatched = null)
        : base(Format(directory, detail, missing ?? [], unexpected ?? [], mismatched ?? []))
    {
        Directory = directory;
        Missing = missing ?? [];
        Unexpected = unexpected ?? [];
        Mismatched = mismatched ?? [];
    }

    /// <summary>The adapter directory.</summary>
    public string Directory { get; }

    /// <summary>Keys the model expected but the file lacks.</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>Keys in the file that match no adaptable layer.</summary>
    public IReadOnlyList<string> Unexpected { get; }

    /// <summary>Keys whose shapes do not fit, with both shapes.</summary>
    public IReadOnlyList<string> Mismatched { get; }

    private static string Format(string dir, string detail, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> mismatched)
    {
        var parts = new List<string> { $"{dir}: {detail}" };
        if (missing.Count > 0) parts.Add($"missing keys: {string.Join(", ", missing)}");
        if (unexpected.Count > 0) parts.Add($"unexpected keys: {string.Join(", ", unexpected)}");
        if (mismatched.Count > 0) parts.Add($"shape mismatches: {string.Join("; ", mismatched)}");
        return string.Join("; ", parts);
    }
}
