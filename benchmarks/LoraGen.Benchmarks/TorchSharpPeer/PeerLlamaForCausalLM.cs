using LoraGen.SafeTensors;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace LoraGen.Benchmarks.TorchSharpPeer;

/// <summary>
/// transformers' <c>LlamaForCausalLM</c> with tied embeddings (SmolLM2's shape) as a plain TorchSharp model (no
/// LoraGen, no generated code), LoRA written by hand on q_proj and v_proj (<see cref="PeerLoraLinear"/>). State-dict
/// names are transformers' (<c>model.layers.0.self_attn.q_proj.weight</c>), so a transformers checkpoint loads by name.
/// </summary>
public sealed class PeerLlamaForCausalLM : nn.Module<Tensor, Tensor>
{
    private readonly PeerLlamaModel model;

    public PeerLlamaForCausalLM(PeerLlamaConfig config) : base(nameof(PeerLlamaForCausalLM))
    {
        model = new PeerLlamaModel(config);
        RegisterComponents();
    }

    /// <summary>ids [b, t] (int64) → logits [b, t, vocab] (the head is the tied embedding).</summary>
    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        return nn.functional.linear(model.call(ids), model.TokenEmbedding).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Reads every base weight from the safetensors file at <paramref name="path"/> (F32, F16 or BF16, by state-dict name;
    /// the hand-written adapters are not in it) with the PEFT unit's reader, converting to fp32 straight into each
    /// parameter's memory (no second copy of a tensor). Throws naming the keys when the file does not fit.
    /// </summary>
    public void LoadBase(string path)
    {
        using var file = SafetensorsFile.Open(path);
        var state = state_dict().Where(kv => !kv.Key.Contains(".adapter_", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var match = file.Match(state.Select(kv => (kv.Key, kv.Value.shape)));
        if (!match.IsExact)
            throw new InvalidOperationException($"the Llama peer does not fit {path}: missing {string.Join(", ", match.Missing)}; unexpected {string.Join(", ", match.Unexpected)}; mismatched {string.Join(", ", match.Mismatched)}");
        using var _ = no_grad();
        foreach (var (key, p) in state)
        {
            if (p.dtype != ScalarType.Float32 || !p.is_contiguous()) throw new InvalidOperationException($"{key}: expected a contiguous float32 parameter");
            file.ReadInto(key, MemoryMarshal.Cast<byte, float>(p.bytes));   // TorchSharp's bytes: a span over the CPU tensor's memory
        }
    }
}
