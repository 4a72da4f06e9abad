using LoraGen.Hub;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Tensors;

namespace LoraGen.Families;

/// <summary>GPT-2's MLP: c_fc (Conv1D d → inner), tanh-GELU, c_proj (Conv1D inner → d).</summary>
public sealed partial class Gpt2Mlp : Module
{
    private readonly Linear c_fc;
    private readonly Linear c_proj;

    /// <summary>Builds the layer.</summary>
    public Gpt2Mlp(Gpt2Config config, Rng rng)
    {
        c_fc = new Linear(config.HiddenSize, config.Inner, rng: rng);
        c_proj = new Linear(config.Inner, config.HiddenSize, rng: rng);
    }

    /// <summary>x [b, t, d] → [b, t, d].</summary>
    public Tensor Forward(Tensor x) => c_proj.Forward(c_fc.Forward(x).Gelu(GeluApproximation.Tanh));
}
