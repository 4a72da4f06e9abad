using LoraGen.Hub;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Tensors;

namespace LoraGen.Families;

/// <summary>Llama's SwiGLU MLP: down_proj(silu(gate_proj(x)) ⊙ up_proj(x)).</summary>
public sealed partial class LlamaMlp : Module
{
    private readonly Linear gate_proj;
    private readonly Linear up_proj;
    private readonly Linear down_proj;

    /// <summary>Builds the layer.</summary>
    public LlamaMlp(LlamaConfig config, Rng rng)
    {
        int d = config.HiddenSize, m = config.IntermediateSize;
        gate_proj = new Linear(d, m, config.MlpBias, rng);
        up_proj = new Linear(d, m, config.MlpBias, rng);
        down_proj = new Linear(m, d, config.MlpBias, rng);
    }

    /// <summary>x [b, t, d] → [b, t, d].</summary>
    public Tensor Forward(Tensor x) => down_proj.Forward(gate_proj.Forward(x).Silu() * up_proj.Forward(x));
}
