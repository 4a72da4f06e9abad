using LoraGen.Tensors;

namespace LoraGen.Lora;

/// <summary>One named adapter on one layer: its A and B parameters (and DoRA's magnitude) and settings.</summary>
public sealed class LoraAdapter
{
    internal LoraAdapter(string name, LoraConfig config, Tensor a, Tensor b, Rng dropoutRng, Tensor? magnitude = null)
    {
        Magnitude = magnitude;
        Name = name;
        Config = config;
        A = a;
        B = b;
        DropoutRng = dropoutRng;
    }

    /// <summary>The adapter's name (PEFT's adapter name, "default" by default).</summary>
    public string Name { get; }

    /// <summary>Rank, alpha, dropout, init and scaling rule.</summary>
    public LoraConfig Config { get; }

    /// <summary>A: [r, in] for Linear, [r, num_embeddings] for Embedding.</summary>
    public Tensor A { get; }

    /// <summary>B: [out, r] for Linear, [dim, r] for Embedding. Zeros at creation.</summary>
    public Tensor B { get; }

    /// <summary>
    /// PiSSA/OLoRA: A and B as initialised (the base weight holds W − s·B₀A₀), so a save can convert the adapter to plain
    /// LoRA relative to the original W; null for other initialisations.
    /// </summary>
    public (Tensor A, Tensor B)? Initial { get; internal set; }

    /// <summary>DoRA's magnitude m: [out] for Linear, [dim] for Embedding; null for plain LoRA.</summary>
    public Tensor? Magnitude { get; }

    /// <summary>A, B and (DoRA) the magnitude: what trains.</summary>
    public IEnumerable<Tensor> Parameters()
    {
        yield return A;
        yield return B;
        if (Magnitude is not null) yield return Magnitude;
    }

    /// <summary>α/r (or α/√r).</summary>
    public float Scaling => Config.Scaling;

    internal Rng DropoutRng { get; }
}
