namespace LoraGen.Combine;

/// <summary>
/// One layer's LoRA factors as float32 arrays, backend-neutral: A is <c>[Rank, InFeatures]</c> and B is
/// <c>[OutFeatures, Rank]</c>, row-major (PEFT's file layout; for an embedding, InFeatures is the number of
/// embeddings and OutFeatures the embedding size), with the scaling the layer applies to B·A.
/// </summary>
public sealed record LoraFactors
{
    /// <summary>Creates the factors of one layer, checking that the arrays fit the shapes.</summary>
    public LoraFactors(float[] a, float[] b, int rank, int inFeatures, int outFeatures, double scaling)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rank);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inFeatures);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outFeatures);
        if (a.LongLength != (long)rank * inFeatures)
            throw new ArgumentException($"A has {a.LongLength} values; [{rank}, {inFeatures}] needs {(long)rank * inFeatures}.", nameof(a));
        if (b.LongLength != (long)outFeatures * rank)
            throw new ArgumentException($"B has {b.LongLength} values; [{outFeatures}, {rank}] needs {(long)outFeatures * rank}.", nameof(b));
        A = a;
        B = b;
        Rank = rank;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Scaling = scaling;
    }

    /// <summary>A, <c>[Rank, InFeatures]</c> row-major.</summary>
    public float[] A { get; }

    /// <summary>B, <c>[OutFeatures, Rank]</c> row-major.</summary>
    public float[] B { get; }

    /// <summary>The rank r.</summary>
    public int Rank { get; }

    /// <summary>Columns of A (a Linear's input features).</summary>
    public int InFeatures { get; }

    /// <summary>Rows of B (a Linear's output features).</summary>
    public int OutFeatures { get; }

    /// <summary>The factor the layer applies to B·A (α/r, or α/√r with rsLoRA).</summary>
    public double Scaling { get; }

    /// <summary>scaling·B·A as a dense <c>[OutFeatures, InFeatures]</c> array (float32 sums, double scaling), for checks and small layers.</summary>
    public float[] Delta()
    {
        var d = new float[(long)OutFeatures * InFeatures];
        for (int o = 0; o < OutFeatures; o++)
            for (int k = 0; k < Rank; k++)
            {
                float c = (float)(Scaling * B[(long)o * Rank + k]);
                if (c == 0) continue;
                var row = d.AsSpan(o * InFeatures, InFeatures);
                var a = A.AsSpan(k * InFeatures, InFeatures);
                for (int i = 0; i < row.Length; i++) row[i] += c * a[i];
            }
        return d;
    }
}
