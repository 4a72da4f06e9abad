using LoraGen.Hub;
using LoraGen.Nn;

namespace LoraGen.Families;

/// <summary>Loads a transformers model directory (config.json + safetensors weights) into the managed family it names.</summary>
public static class HfModels
{
    /// <summary>
    /// Reads <c>config.json</c>, builds the family's model and streams the checkpoint's weights into it, one tensor at
    /// a time. Every key and shape is checked before a single weight is read; on any problem a
    /// <see cref="ModelFileException"/> names the file and key, and no model is returned.
    /// <para>
    /// <paramref name="baseFormat"/> other than <see cref="BaseFormat.Fp32"/> freezes the base and keeps every Linear
    /// weight in that format (<see cref="Module.CastFrozenBase"/>): <see cref="BaseFormat.BF16"/> is exact for a bf16
    /// checkpoint (SmolLM2, Llama 3 ship bf16) and rounds an f32 one. Embeddings, norms and a tied output head stay
    /// fp32. LoRA adapters attached afterwards train in fp32 on top.
    /// </para>
    /// </summary>
    public static CausalLmModule Load(string modelDirectory, BaseFormat baseFormat = BaseFormat.Fp32)
    {
        var config = HfConfig.ReadDirectory(modelDirectory);
        using var checkpoint = Checkpoint.Open(modelDirectory);
        checkpoint.Check(WeightLayout.For(config));   // before the model's memory is allocated
        CausalLmModule model = config switch
        {
            Gpt2Config g => new Gpt2LMHeadModel(g),
            LlamaConfig l => new LlamaForCausalLM(l),
            _ => throw new ModelFileException(modelDirectory, null, $"no managed family for model_type {config.ModelType}"),
        };
        model.LoadWeights(checkpoint);
        model.Eval();
        if (baseFormat != BaseFormat.Fp32)
        {
            model.Freeze();
            model.CastFrozenBase(baseFormat);
        }
        return model;
    }
}
