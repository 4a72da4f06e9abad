using LoraGen.Contract;
using LoraGen.Hub;
using LoraGen.Lora;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Tensors;

namespace LoraGen.Families;

/// <summary>
/// transformers' <c>GPT2LMHeadModel</c> on the managed runtime. Module paths are transformers' own
/// (<c>transformer.h.0.attn.c_attn</c>…), so PEFT adapters trained in Python load unchanged. Conv1D layers are held
/// as Linear [out, in] (the checkpoint's [in, out] is transposed on load and save), which is exactly PEFT's
/// <c>fan_in_fan_out</c> treatment: A [r, in], B [out, r], ΔW = s·B·A in the [out, in] view.
/// </summary>
[LoraModel(Targets = ["c_attn"], Rank = 8, Alpha = 16, BaseModelName = "gpt2")]
public sealed partial class Gpt2LMHeadModel : CausalLmModule
{
    private readonly Gpt2Model transformer;
    private readonly Linear? lm_head;

    /// <summary>Builds the model with random weights for <paramref name="config"/> (load a checkpoint to fill them).</summary>
    public Gpt2LMHeadModel(Gpt2Config config, Rng? rng = null)
    {
        rng ??= new Rng(0);
        Gpt2 = config;
        transformer = new Gpt2Model(config, rng);
        if (!config.TieWordEmbeddings) lm_head = new Linear(config.HiddenSize, config.VocabSize, bias: false, rng: rng);
    }

    /// <summary>The GPT-2 config.</summary>
    public Gpt2Config Gpt2 { get; }

    /// <inheritdoc />
    public override HfModelConfig Config => Gpt2;

    /// <inheritdoc />
    public override Tensor Hidden(int[] ids, int b, int t, KvCache? cache = null) => transformer.Forward(ids, b, t, cache);

    /// <inheritdoc />
    public override Tensor Output(Tensor hidden) => lm_head?.Forward(hidden) ?? Head(hidden, transformer.TokenEmbedding);

    /// <inheritdoc />
    public override LoraModelOptions DefaultLoraOptions => Declared(LoraOptions);

    /// <inheritdoc />
    public override LoraModelController LoraWith(LoraModelOptions options) => new(this, Declared(options));

    /// <summary>The generated <c>Lora</c> facade gets what this family declares, as <see cref="LoraWith"/> does.</summary>
    partial void ConfigureLoraOptions(ref LoraModelOptions options) => options = Declared(options);

    /// <summary><paramref name="options"/> with what the family declares: GPT-2's Conv1D layout (<c>fan_in_fan_out</c>) and its task (<c>CAUSAL_LM</c> unless set).</summary>
    private static LoraModelOptions Declared(LoraModelOptions options) => options with { FanInFanOut = true, TaskType = options.TaskType ?? ConfigFields.TaskTypeCausalLm };
}
