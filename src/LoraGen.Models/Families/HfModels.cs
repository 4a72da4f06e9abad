using LoraGen.Hub;

namespace LoraGen.Families;

/// <summary>Loads a transformers model directory (config.json + safetensors weights) into the managed family it names.</summary>
public static class HfModels
{
    /// <summary>
    /// Reads <c>config.json</c>, builds the family's model and fills it from the checkpoint. Every key and shape is
    /// checked before a single weight is copied; on any problem a <see cref="ModelFileException"/> names the file and
    /// key, and no model is returned.
    /// </summary>
    public static CausalLmModule Load(string modelDirectory)
    {
        var config = HfConfig.ReadDirectory(modelDirectory);
        using var checkpoint = Checkpoint.Open(modelDirectory);
        var (weights, _) = checkpoint.ReadAll(WeightLayout.For(config));
        CausalLmModule model = config switch
        {
            Gpt2Config g => new Gpt2LMHeadModel(g),
            LlamaConfig l => new LlamaForCausalLM(l),
            _ => throw new ModelFileException(modelDirectory, null, $"no managed family for model_type {config.ModelType}"),
        };
        model.LoadWeights(weights);
        model.Eval();
        return model;
    }
}
