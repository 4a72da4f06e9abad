using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraGen.Benchmarks.TorchSharpPeer;

/// <summary>
/// The TinyGpt of samples/TinyGpt.Lora and samples/TinyGpt.TorchSharp as a plain TorchSharp model (no LoraGen, no
/// generated code), LoRA written by hand on q and v (<see cref="PeerLoraLinear"/>). State-dict names are the
/// samples' (<c>h.0.attn.q_proj.weight</c>), so one safetensors file of base weights loads into all three.
/// </summary>
public sealed class PeerGpt : nn.Module<Tensor, Tensor>
{
    private readonly Embedding wte;
    private readonly Embedding wpe;
    private readonly ModuleList<PeerBlock> h;
    private readonly LayerNorm ln_f;
    private readonly Linear lm_head;

    public PeerGpt(PeerConfig config) : base(nameof(PeerGpt))
    {
        wte = nn.Embedding(config.Vocab, config.Dim);
        wpe = nn.Embedding(config.Context, config.Dim);
        h = nn.ModuleList(Enumerable.Range(0, config.Layers).Select(_ => new PeerBlock(config)).ToArray());
        ln_f = nn.LayerNorm(config.Dim);
        lm_head = nn.Linear(config.Dim, config.Vocab);
        RegisterComponents();
    }

    /// <summary>ids [b, t] (int64) → logits [b, t, vocab].</summary>
    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var positions = arange(ids.shape[1], dtype: ScalarType.Int64, device: ids.device);
        var x = wte.call(ids) + wpe.call(positions);
        foreach (var block in h) x = block.call(x);
        return lm_head.call(ln_f.call(x)).MoveToOuterDisposeScope();
    }
}
