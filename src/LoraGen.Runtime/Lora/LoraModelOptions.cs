using LoraGen.Contract;

namespace LoraGen.Lora;

/// <summary>The <c>[LoraModel]</c> settings of a root model, emitted by the generator as a static value.</summary>
/// <param name="Defaults">Settings for layers selected by name through <paramref name="Targets"/>.</param>
/// <param name="Bias">Which biases train.</param>
/// <param name="Targets">Module names to adapt (PEFT's <c>target_modules</c>); empty when only <c>[Lora]</c> fields are adapted.</param>
/// <param name="RankPattern">Rank overrides by module name.</param>
/// <param name="AlphaPattern">Alpha overrides by module name.</param>
/// <param name="BaseModelName">Written as <c>base_model_name_or_path</c>.</param>
public sealed record LoraModelOptions(
    LoraConfig Defaults,
    LoraBias Bias,
    IReadOnlyList<string> Targets,
    IReadOnlyDictionary<string, int> RankPattern,
    IReadOnlyDictionary<string, double> AlphaPattern,
    string? BaseModelName)
{
    /// <summary>Options for a model whose adapters are all declared with <c>[Lora]</c>.</summary>
    public static LoraModelOptions FromFieldsOnly { get; } = new(
        new LoraConfig(AttributeDefaults.Rank, AttributeDefaults.Alpha(AttributeDefaults.Rank)), LoraBias.None, [],
        new Dictionary<string, int>(), new Dictionary<string, double>(), null);

    /// <summary>
    /// The model's adaptable layers are stored [in, out] in its checkpoints (GPT-2's Conv1D): saved adapters say
    /// <c>fan_in_fan_out</c>, and adapters that say it load (A and B have the same shapes either way; only the base
    /// weight's file layout differs, which the model's loader handles).
    /// </summary>
    public bool FanInFanOut { get; init; }

    /// <summary>
    /// <c>[LoraModel(BaseQuantization)]</c>: the format <c>Attach</c> stores the frozen base Linear weights in
    /// (<see cref="LoraModelController.Quantize"/>); <see cref="LoraBaseQuantization.None"/> leaves them fp32.
    /// </summary>
    public LoraBaseQuantization BaseQuantization { get; init; }

    /// <summary>
    /// Written as <c>task_type</c> in saved adapters (PEFT's task: "CAUSAL_LM" for a causal language model), or null
    /// to leave it out.
    /// </summary>
    public string? TaskType { get; init; }
}
