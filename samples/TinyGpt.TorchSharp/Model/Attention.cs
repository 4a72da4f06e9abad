using LoraGen;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TinyGpt.TorchSharp.Model;

/// <summary>Causal multi-head self-attention; LoRA adapts the query and value projections.</summary>
public sealed partial class Attention : nn.Module<Tensor, Tensor>
{
    [Lora(Rank = 8, Alpha = 16)] private readonly Linear q_proj;
    private readonly Linear k_proj;
    [Lora(Rank = 8, Alpha = 16)] private readonly Linear v_proj;
    private readonly Linear o_proj;
    private readonly int _heads;

    public Attention(GptConfig config) : base(nameof(Attention))
    {
        q_proj = nn.Linear(config.Dim, config.Dim);
        k_proj = nn.Linear(config.Dim, config.Dim);
        v_proj = nn.Linear(config.Dim, config.Dim);
        o_proj = nn.Linear(config.Dim, config.Dim);
        _heads = config.Heads;
        RegisterComponents();
    }

    /// <summary>x [b, t, d] → [b, t, d]. Layers are invoked with call(x), which runs the LoRA hooks (LORA0101).</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1], d = x.shape[2], hd = d / _heads;
        Tensor Heads(Tensor y) => y.reshape(b, t, _heads, hd).permute(0, 2, 1, 3);   // [b, h, t, hd]
        var y = nn.functional.scaled_dot_product_attention(Heads(q_proj.call(x)), Heads(k_proj.call(x)), Heads(v_proj.call(x)), is_casual: true);
        return o_proj.call(y.permute(0, 2, 1, 3).reshape(b, t, d)).MoveToOuterDisposeScope();
    }
}
