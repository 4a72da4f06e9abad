using LoraGen.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraGen.TorchSharp.Tests.Lora;

/// <summary>Two adapted Linear layers (q_proj, v_proj) with the [Lora] specs handed over as the generator hands them (<see cref="ITorchLoraFields"/>).</summary>
internal sealed class TorchPair : nn.Module<Tensor, Tensor>, ITorchLoraFields
{
    public static readonly TorchLoraFieldSpec Spec = new(new TorchLoraConfig(4, 8));
    public static readonly TorchLoraFieldSpec VSpec = new(new TorchLoraConfig(2, 8, UseRsLora: true));

    public readonly Linear q_proj;
    public readonly Linear k_proj;
    public readonly Linear v_proj;

    public TorchPair() : base(nameof(TorchPair))
    {
        q_proj = nn.Linear(12, 10);
        k_proj = nn.Linear(10, 10);
        v_proj = nn.Linear(10, 6);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var h = q_proj.call(x);
        using var k = k_proj.call(h);
        return v_proj.call(k);
    }

    public IEnumerable<(nn.Module Layer, TorchLoraFieldSpec Spec)> LoraFields()
    {
        yield return (q_proj, Spec);
        yield return (v_proj, VSpec);
    }
}

/// <summary>A ModuleList of <see cref="TorchPair"/> blocks with an unmarked head; the root selects heads by name.</summary>
internal sealed class TorchStack : nn.Module<Tensor, Tensor>
{
    public readonly ModuleList<TorchPair> blocks;
    public readonly Linear head;

    public TorchStack() : base(nameof(TorchStack))
    {
        blocks = nn.ModuleList(new TorchPair(), new TorchPair());
        head = nn.Linear(6, 3);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var h0 = blocks[0].call(x);
        using var p = nn.functional.pad(h0, [0, 6]);
        using var h1 = blocks[1].call(p);
        return head.call(h1);
    }
}
