namespace LoraGen.Bases;

/// <summary>
/// xoshiro128** seeded through SplitMix64: the one copy of the generator behind the managed runtime's <c>Rng</c> and
/// NoLA's bases (<c>loragen-xoshiro128ss-v1</c>, docs/nola-format.md). The state is four 32-bit words, the low then
/// high halves of two SplitMix64 outputs of the seed (an all-zero state gets word 0 = 1). The same seed gives the same
/// numbers on every machine and .NET version. A mutable struct: hold it in a field, never copy it by value.
/// </summary>
public struct Xoshiro128
{
    private uint _s0, _s1, _s2, _s3;

    /// <summary>The generator for a 64-bit seed.</summary>
    public Xoshiro128(ulong seed)
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

    /// <summary>A uniform float in [0, 1) with 24 random bits: (next32 &gt;&gt; 8)·2⁻²⁴.</summary>
    public float NextFloat() => (NextUInt() >> 8) * (1f / 16777216f);

    /// <summary>Fills <paramref name="dst"/> with <c>low + (high − low)·u</c>, u = <see cref="NextFloat"/>, in float32.</summary>
    public void FillUniform(Span<float> dst, float low, float high)
    {
        float range = high - low;
        for (int i = 0; i < dst.Length; i++) dst[i] = low + range * NextFloat();
    }
}
