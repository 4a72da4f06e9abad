using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraGen.TorchSharp.Tests.Generated;

/// <summary>A TorchSharp attention-like block as a user writes it, plus [Lora] and partial.</summary>
public sealed partial class GenBlock : nn.Module<Tensor, Tensor>
{
    [Lora(Rank = 4, Alpha = 8)] private readonly Linear q_proj;
    private readonly Linear k_proj;
    [Lora(Rank = 2, Alpha = 8, UseRsLora = true)] private readonly Linear v_proj;

    public GenBlock(long d) : base(nameof(GenBlock))
    {
        q_proj = nn.Linear(d, d);
        k_proj = nn.Linear(d, d);
        v_proj = nn.Linear(d, d);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var q = q_proj.call(x);
        using var k = k_proj.call(q);
        return v_proj.call(k);
    }
}

/// <summary>The [LoraModel] root: an embedding, blocks in a ModuleList, a head selected by name.</summary>
[LoraModel(Rank = 3, Alpha = 6, Targets = new[] { "head" }, BaseModelName = "tests/gen-gpt")]
public sealed partial class GenGpt : nn.Module<Tensor, Tensor>
{
    [Lora(Rank = 2, Alpha = 4)] private readonly Embedding wte;
    private readonly ModuleList<GenBlock> blocks;
    private readonly Linear head;

    public GenGpt(long vocab = 20, long d = 8) : base(nameof(GenGpt))
    {
        wte = nn.Embedding(vocab, d);
        blocks = nn.ModuleList(new GenBlock(d), new GenBlock(d));
        head = nn.Linear(d, vocab);
        RegisterComponents();
    }

    public override Tensor forward(Tensor ids)
    {
        var h = wte.call(ids);
        foreach (var block in blocks)
        {
            var next = block.call(h);
            h.Dispose();
            h = next;
        }
        using (h) return head.call(h);
    }
}

/// <summary>A DoRA root: UseDora on a [Lora] field reaches the TorchSharp config.</summary>
[LoraModel]
public sealed partial class GenDora : nn.Module<Tensor, Tensor>
{
    [Lora(Rank = 4, Alpha = 8, UseDora = true)] private readonly Linear fc;

    public GenDora(long d = 6) : base(nameof(GenDora))
    {
        fc = nn.Linear(d, d);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => fc.call(x);
}

/// <summary>A VeRA root with a QLoRA base: Variant reaches the TorchSharp config and BaseQuantization its options.</summary>
[LoraModel(BaseQuantization = LoraBaseQuantization.Nf4)]
public sealed partial class GenVera : nn.Module<Tensor, Tensor>
{
    [Lora(Rank = 4, Variant = LoraVariant.Vera)] private readonly Linear fc;
    [Lora(Rank = 4, Variant = LoraVariant.Vera)] private readonly Linear proj;

    public GenVera(long d = 6) : base(nameof(GenVera))
    {
        fc = nn.Linear(d, 2 * d);
        proj = nn.Linear(2 * d, d);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var h = fc.call(x);
        return proj.call(h);
    }
}
