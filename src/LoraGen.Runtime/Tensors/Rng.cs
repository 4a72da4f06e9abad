namespace LoraGen.Tensors;

/// <summary>
/// A small, fast, deterministic random number generator (xoshiro128**, seeded through SplitMix64).
/// The same seed gives the same numbers on every machine and .NET version.
/// </summary>
public sealed class Rng
{
    private Bases.Xoshiro128 _x;   // the PEFT unit's one copy of the generator (NoLA's bases use it too)

    /// <summary>Creates a generator from a 64-bit seed.</summary>
    public Rng(ulong seed) => _x = new Bases.Xoshiro128(seed);

    /// <summary>The next 32 random bits.</summary>
    public uint NextUInt() => _x.NextUInt();

    /// <summary>A uniform float in [0, 1) with 24 random bits.</summary>
    public float NextFloat() => _x.NextFloat();

    /// <summary>A uniform integer in [0, <paramref name="maxExclusive"/>).</summary>
    public int NextInt(int maxExclusive) => (int)((ulong)NextUInt() * (ulong)maxExclusive >> 32);

    /// <summary>A standard normal sample (Box–Muller).</summary>
    public float NextNormal()
    {
        double u1 = 1.0 - (NextUInt() + 0.5) / 4294967296.0; // (0, 1]
        double u2 = NextUInt() / 4294967296.0;
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }

    /// <summary>Fills <paramref name="dst"/> with uniform samples in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public void FillUniform(Span<float> dst, float low, float high) => _x.FillUniform(dst, low, high);

    /// <summary>Fills <paramref name="dst"/> with normal samples of the given mean and standard deviation.</summary>
    public void FillNormal(Span<float> dst, float mean, float std)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = mean + std * NextNormal();
    }
}
