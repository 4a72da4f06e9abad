using LoraGen;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TinyGpt.TorchSharp.Model;

/// <summary>
/// The GPT-2-style character model of samples/TinyGpt.Lora as a TorchSharp module. Only the attention declares
/// LoRA (on q and v); the generator gives this root its <c>Lora</c> facade.
/// </summary>
[LoraModel(BaseModelName = "loragen/tinygpt-char")]
public sealed partial class Gpt : nn.Module<Tensor, Tensor>
{
    private readonly Embedding wte;
    private readonly Embedding wpe;
    private readonly ModuleList<Block> h;
    private readonly LayerNorm ln_f;
    private readonly Linear lm_head;

    public Gpt(GptConfig config) : base(nameof(Gpt))
    {
        Config = config;
        wte = nn.Embedding(config.Vocab, config.Dim);
        wpe = nn.Embedding(config.Context, config.Dim);
        h = nn.ModuleList(Enumerable.Range(0, config.Layers).Select(_ => new Block(config)).ToArray());
        ln_f = nn.LayerNorm(config.Dim);
        lm_head = nn.Linear(config.Dim, config.Vocab);
        RegisterComponents();
        using (no_grad())
        {
            // GPT-2 initializes embeddings with std 0.02.
            nn.init.normal_(wte.weight, 0, 0.02);
            nn.init.normal_(wpe.weight, 0, 0.02);
        }
    }

    /// <summary>The sizes.</summary>
    public GptConfig Config { get; }

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
