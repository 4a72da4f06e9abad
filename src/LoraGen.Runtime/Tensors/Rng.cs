namespace LoraGen.Tensors;

/// <summary>
/// A small, fast, deterministic random number generator (xoshiro128**, seeded through SplitMix64).
/// The same seed gives the same numbers on every machine and .NET version.
/// </summary>
public sealed class Rng
{
    private uint _s0, _s1, _s2, _s3;

    /// <summary>Creates a generator from a 64-bit seed.</summary>
    public Rng(ulong seed)
    {
        ulong z = seed;
        ulong a = SplitMix(ref z), b = SplitMix(ref z);
        _s0 = (uint)a; _s1 = (uint)(a >> 32); _s2 = (uint)b; _s3 = (uint)(b >> 32);
        if ((_s0 | _s1 | _s2 | _s3) == 0) _s0 = 1;
    }

    private static ulong SplitMix(ref ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        ulong x = z;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    /// <summary>The next 32 random bits.</summary>
    public uint NextUInt()
    {
        uint result = uint.RotateLeft(_s1 * 5, 7) * 9;
        uint t = _s1 << 9;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = uint.RotateLeft(_s3, 11);
        return result;
    }

    /// <summary>A uniform float in [0, 1) with 24 random bits.</summary>
    public float NextFloat() => (NextUInt() >> 8) * (1f / 16777216f);

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
    public void FillUniform(Span<float> dst, float low, float high)
    {
        float range = high - low;
        for (int i = 0; i < dst.Length; i++) dst[i] = low + range * NextFloat();
    }

    /// <summary>Fills <paramref name="dst"/> with normal samples of the given mean and standard deviation.</summary>
    public void FillNormal(Span<float> dst, float mean, float std)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = mean + std * NextNormal();
    }
}
