using LoraGen.SafeTensors;

namespace LoraGen.Peft;

/// <summary>
/// An adapter opened by <see cref="AdapterDirectory.Open"/>: its config and its weights, guaranteed to come from
/// the same save. Dispose it to unmap the weights (and before saving over it on Windows).
/// </summary>
public sealed class AdapterFiles : IDisposable
{
    internal AdapterFiles(string directory, AdapterConfig config, SafetensorsFile weights, string configPath, bool fromInterruptedSave)
    {
        Directory = directory;
        Config = config;
        Weights = weights;
        ConfigPath = configPath;
        FromInterruptedSave = fromInterruptedSave;
    }

    /// <summary>The adapter directory (a full path).</summary>
    public string Directory { get; }

    /// <summary>The adapter's config.</summary>
    public AdapterConfig Config { get; }

    /// <summary>The adapter's weights (<c>adapter_model.safetensors</c>), memory-mapped until this is disposed.</summary>
    public SafetensorsFile Weights { get; }

    /// <summary>
    /// The file the config was read from: <c>adapter_config.json</c>, or, after a save that was interrupted between
    /// its two renames, that save's config temporary (the next save puts it in place).
    /// </summary>
    public string ConfigPath { get; }

    /// <summary>True when the config came from an interrupted save's temporary (see <see cref="ConfigPath"/>).</summary>
    public bool FromInterruptedSave { get; }

    /// <summary>Unmaps the weights.</summary>
    public void Dispose() => Weights.Dispose();
}
