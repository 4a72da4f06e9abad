using LoraGen.Peft;
using LoraGen.SafeTensors;

namespace LoraGen.Cli;

/// <summary>An adapter given on the command line: a PEFT adapter directory, or a bare adapter .safetensors file (with the config next to it, if any).</summary>
internal sealed class AdapterInput : IDisposable
{
    private readonly AdapterFiles? _files;

    private AdapterInput(AdapterFiles? files, SafetensorsFile weights, string weightsPath, AdapterConfig? config, string? configPath)
    {
        _files = files;
        Weights = weights;
        WeightsPath = weightsPath;
        Config = config;
        ConfigPath = configPath;
        Layout = AdapterLayout.Of(weights);
    }

    public SafetensorsFile Weights { get; }
    public string WeightsPath { get; }
    public AdapterConfig? Config { get; }
    public string? ConfigPath { get; }
    public AdapterLayout Layout { get; }

    /// <summary>The config, or an error naming the adapter when there is none.</summary>
    public AdapterConfig RequireConfig() =>
        Config ?? throw CliException.Input($"{WeightsPath}: no {AdapterKeys.ConfigFile} next to the adapter weights; r and alpha are unknown.");

    /// <summary>The scaling of the layer at <paramref name="path"/> (from the config).</summary>
    public double ScalingFor(string path) => RequireConfig().ScalingFor(path);

    public static AdapterInput Open(string path)
    {
        if (Directory.Exists(path))
        {
            var files = AdapterDirectory.Open(path);
            return new AdapterInput(files, files.Weights, Path.Combine(path, AdapterKeys.WeightsFile), files.Config, files.ConfigPath);
        }
        if (!File.Exists(path)) throw CliException.Input($"{path}: no such adapter directory or file.");
        var weights = SafetensorsFile.Open(path);
        try
        {
            var configPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, AdapterKeys.ConfigFile);
            var config = File.Exists(configPath) ? AdapterConfig.Load(configPath) : null;
            return new AdapterInput(null, weights, path, config, config is null ? null : configPath);
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        if (_files is not null) _files.Dispose();
        else Weights.Dispose();
    }
}
