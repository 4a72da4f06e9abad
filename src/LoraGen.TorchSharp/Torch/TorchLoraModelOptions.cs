using LoraGen.Contract;

namespace LoraGen.Torch;

/// <summary>The <c>[LoraModel]</c> settings of a TorchSharp root (as the managed backend's <c>LoraModelOptions</c>).</summary>
/// <param name="Defaults">The settings of layers selected by <paramref name="Targets"/>.</param>
/// <param name="Bias">Which biases train (PEFT's <c>bias</c>).</param>
/// <param name="Targets">PEFT target names (<c>q_proj</c>, <c>attn.v_proj</c>) matched against module paths.</param>
/// <param name="RankPattern">Rank overrides by target name.</param>
/// <param name="AlphaPattern">α overrides by target name.</param>
/// <param name="BaseModelName">The saved config's <c>base_model_name_or_path</c>.</param>
public sealed record TorchLoraModelOptions(
    TorchLoraConfig Defaults,
    LoraBias Bias,
    IReadOnlyList<string> Targets,
    IReadOnlyDictionary<string, int> RankPattern,
    IReadOnlyDictionary<string, double> AlphaPattern,
    string? BaseModelName)
{
    /// <summary>No name targets: only <c>[Lora]</c> fields are adapted.</summary>
    public static TorchLoraModelOptions FromFieldsOnly { get; } = new(
        new TorchLoraConfig(AttributeDefaults.Rank, AttributeDefaults.Alpha(AttributeDefaults.Rank)), LoraBias.None, [],
        new Dictionary<string, int>(), new Dictionary<string, double>(), null);

    /// <summary>
    /// <c>[LoraModel(BaseQuantization)]</c>: the format <c>Attach</c> keeps the frozen base Linear weights in
    /// (<see cref="TorchLoraModelController.Quantize"/>); <see cref="LoraBaseQuantization.None"/> leaves them as they are.
    /// </summary>
    public LoraBaseQuantization BaseQuantization { get; init; }
}
