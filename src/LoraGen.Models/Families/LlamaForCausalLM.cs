using LoraGen.Contract;
using LoraGen.Hub;
using LoraGen.Lora;
using LoraGen.Nn;
using LoraGen.Tensors;

namespace LoraGen.Families;

/// <summary>
/// transformers' <c>LlamaForCausalLM</c> on the managed runtime (Llama 2/3, TinyLlama, SmolLM2 and other
/// Llama-architecture checkpoints). Module paths are transformers' own (<c>model.layers.0.self_attn.q_proj</c>…).
/// </summary>
[LoraModel(Targets = ["q_proj", "v_proj"], Rank = 8, Alpha = 16, BaseModelName = "llama")]
public sealed partial class LlamaForCausalLM : CausalLmModule
{
    private readonly LlamaModel model;
    private readonly Linear? lm_head;

    /// <summary>Builds the model with random weights for <paramref name="config"/> (load a checkpoint to fill them).</summary>
    public LlamaForCausalLM(LlamaConfig config, Rng? rng = null)
    {
        rng ??= new Rng(0);
        Llama = config;
        model = new LlamaModel(config, rng);
        if (!config.TieWordEmbeddings) lm_head = new Linear(config.HiddenSize, config.VocabSize, bias: false, rng: rng);
    }

    /// <summary>The Llama config.</summary>
    public LlamaConfig Llama { get; }

    /// <inheritdoc />
    public override HfModelConfig Config => Llama;

    /// <inheritdoc />
    public override Tensor Hidden(int[] ids, int b, int t, KvCache? cache = null) => model.Forward(ids, b, t, cache);

    /// <inheritdoc />
    public override Tensor Output(Tensor hidden) => lm_head?.Forward(hidden) ?? Head(hidden, model.TokenEmbedding);

    /// <inheritdoc />
    public override LoraModelOptions DefaultLoraOptions => Declared(LoraOptions);

    /// <inheritdoc />
    public override LoraModelController LoraWith(LoraModelOptions options) => new(this, Declared(options));

    /// <summary>The generated <c>Lora</c> facade gets what this family declares, as <see cref="LoraWith"/> does.</summary>
    partial void ConfigureLoraOptions(ref LoraModelOptions options) => options = Declared(options);

    /// <summary><paramref name="options"/> with what the family declares: its task (<c>CAUSAL_LM</c> unless set).</summary>
    private static LoraModelOptions Declared(LoraModelOptions options) => options with { TaskType = options.TaskType ?? ConfigFields.TaskTypeCausalLm };
}
