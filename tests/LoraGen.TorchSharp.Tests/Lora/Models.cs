using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraGen.TorchSharp.Tests.Lora;

/// <summary>Two Linear layers around a LayerNorm, written as a TorchSharp user writes a model (fields, RegisterComponents, call()).</summary>
internal sealed class TwoLayer : nn.Module<Tensor, Tensor>
{
    public readonly Linear q_proj;
    public readonly LayerNorm norm;
    public readonly Linear v_proj;

    public TwoLayer(long input = 12, long hidden = 10, long output = 6) : base(nameof(TwoLayer))
    {
        q_proj = nn.Linear(input, hidden);
        norm = nn.LayerNorm(hidden);
        v_proj = nn.Linear(hidden, output);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var h = q_proj.call(x);
        using var n = norm.call(h);
        using var r = nn.functional.relu(n);
        return v_proj.call(r);
    }
}

/// <summary>One Linear, for half-precision bases (no LayerNorm in the way).</summary>
internal sealed class OneLinear : nn.Module<Tensor, Tensor>
{
    public readonly Linear fc;

    public OneLinear(long input = 16, long output = 8) : base(nameof(OneLinear))
    {
        fc = nn.Linear(input, output);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => fc.call(x);
}

/// <summary>An embedding (padding index 0) and a head.</summary>
internal sealed class Embedder : nn.Module<Tensor, Tensor>
{
    public const long PaddingIdx = 0;
    public readonly Embedding wte;
    public readonly Linear head;

    public Embedder(long vocab = 30, long dim = 8) : base(nameof(Embedder))
    {
        wte = nn.Embedding(vocab, dim, padding_idx: PaddingIdx);
        head = nn.Linear(dim, 5);
        RegisterComponents();
    }

    public override Tensor forward(Tensor ids)
    {
        using var e = wte.call(ids);
        return head.call(e);
    }
}

/// <summary>Blocks in a ModuleList and heads in another: nested module paths (<c>blocks.0.q_proj</c>, <c>heads.1</c>).</summary>
internal sealed class Stack : nn.Module<Tensor, Tensor>
{
    public readonly ModuleList<TwoLayer> blocks;
    public readonly ModuleList<Linear> heads;

    public Stack() : base(nameof(Stack))
    {
        blocks = nn.ModuleList(new TwoLayer(12, 10, 12), new TwoLayer(12, 10, 12));
        heads = nn.ModuleList(nn.Linear(12, 3), nn.Linear(12, 3));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var h = x;
        foreach (var block in blocks) h = block.call(h);
        return heads[1].call(h);
    }
}
