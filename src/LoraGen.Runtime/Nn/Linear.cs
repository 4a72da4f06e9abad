using LoraGen.Lora;
using LoraGen.Tensors;

namespace LoraGen.Nn;

/// <summary>A layer that can carry low-rank adapters (Linear and Embedding).</summary>
public interface ILoraTarget
{
    /// <summary>Linear or Embedding: fixes the shapes of A and B and the PEFT key names.</summary>
    LoraTargetKind Kind { get; }

    /// <summary>The base weight adapters attach to (and merge into).</summary>
    Tensor Weight { get; }

    /// <summary>The adapter slot, or null while no adapter was ever added.</summary>
    LoraLayer? Lora { get; }

    /// <summary>The adapter slot, created on first use.</summary>
    LoraLayer EnableLora(string layerName);

    /// <summary>Drops the slot and all its adapters (after merging, this is merge-and-unload).</summary>
    void RemoveLora();
}

/// <summary>
/// y = x·Wᵀ + b with W [out, in] and optional b [out], initialized as torch.nn.Linear
/// (both U(−1/√in, 1/√in)). With adapters, <see cref="Forward"/> adds Σ s·B·A·dropout(x).
/// </summary>
public sealed class Linear : Module, ILoraTarget
{
    /// <summary>Creates the layer.</summary>
    public Linear(int inFeatures, int outFeatures, bool bias = true, Rng? rng = null)
    {
        if (inFeatures < 1 || outFeatures < 1) throw new ArgumentException($"Linear({inFeatures}, {outFeatures}): features must be positive.");
        rng ??= Init.DefaultRng;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        float bound = 1f / MathF.Sqrt(inFeatures);
        Weight = Init.UniformParameter(rng, bound, outFeatures, inFeatures);
        Bias = bias ? Init.UniformParameter(rng, bound, outFeatures) : null;
    }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }

    /// <summary>Output features.</summary>
    public int OutFeatures { get; }

    /// <summary>W [out, in].</summary>
    public Tensor Weight { get; }

    /// <summary>b [out], or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc />
    public LoraTargetKind Kind => LoraTargetKind.Linear;

    /// <inheritdoc />
    public LoraLayer? Lora { get; private set; }

    /// <inheritdoc />
    public LoraLayer EnableLora(string layerName) => Lora ??= new LoraLayer(Kind, Weight, layerName);

    /// <inheritdoc />
    public void RemoveLora() => Lora = null;

    /// <summary>x [..., in] → [..., out].</summary>
    public Tensor Forward(Tensor x)
    {
        var y = x.Linear(Weight, Bias);
        return Lora is null ? y : Lora.ApplyLinear(x, y, Training);
    }

    /// <inheritdoc />
    public override void VisitLoraTargets(string path, ILoraTargetVisitor visitor) => visitor.Visit(path, this, null);

    /// <inheritdoc />
    public override IEnumerable<(string Name, Tensor Parameter)> DirectParameters()
    {
        yield return ("weight", Weight);
        if (Bias is not null) yield return ("bias", Bias);
    }

    /// <inheritdoc />
    public override IEnumerable<(string Name, Tensor Parameter)> AdapterParameters() => LoraParameters(Lora);

    /// <summary>Adapter parameters named as in a PEFT model's state dict (Linear: <c>lora_A.NAME.weight</c>; Embedding: <c>lora_embedding_A.NAME</c>).</summary>
    internal static IEnumerable<(string, Tensor)> LoraParameters(LoraLayer? lora)
    {
        if (lora is null) yield break;
        bool linear = lora.Kind == LoraTargetKind.Linear;
        foreach (var ad in lora.Adapters.Values)
        {
            yield return (linear ? $"lora_A.{ad.Name}.weight" : $"lora_embedding_A.{ad.Name}", ad.A);
            yield return (linear ? $"lora_B.{ad.Name}.weight" : $"lora_embedding_B.{ad.Name}", ad.B);
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"Linear(in_features={InFeatures}, out_features={OutFeatures}, bias={Bias is not null})";
}
