using LoraGen.Families;
using LoraGen.Lora;
using LoraGen.Nn;

namespace LoraGen.Cli;

/// <summary>A Hugging Face model directory loaded into its managed family, with an optional PEFT adapter applied unmerged.</summary>
internal static class ModelInput
{
    public static (CausalLmModule Model, LoraModelController? Lora) Load(string modelDir, string? adapterDir, BaseFormat baseFormat = BaseFormat.Fp32)
    {
        if (!Directory.Exists(modelDir)) throw CliException.Input($"{modelDir}: no such model directory.");
        var model = HfModels.Load(modelDir, baseFormat);
        if (adapterDir is null) return (model, null);
        var lora = model.LoraWith(model.DefaultLoraOptions);
        lora.Load(adapterDir);
        model.Eval();
        return (model, lora);
    }

    /// <summary>"1,17,42" → ids, each in [0, vocab).</summary>
    public static int[] ParseIds(string text, int vocab)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new CliException(ExitCodes.Usage, "--ids: give at least one token id, e.g. --ids 1,17,42.");
        var ids = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out ids[i]) || ids[i] >= vocab)
                throw new CliException(ExitCodes.Usage, $"--ids: \"{parts[i]}\" is not a token id in [0, {vocab}).");
        return ids;
    }
}
