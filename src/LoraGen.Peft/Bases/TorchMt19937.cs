namespace LoraGen.Bases;

/// <summary>
/// PyTorch's CPU generator, bit for bit: <c>torch.Generator().manual_seed(seed)</c> is a standard MT19937 seeded with
/// the low 32 bits of the seed (init_genrand), and <c>tensor.uniform_(from, to, generator=g)</c> on a float32 CPU
/// tensor draws one 32-bit output per element, keeps its low 24 bits u, and writes
/// <c>(float)((double)(u · 2⁻²⁴) · (float)(to − from) + from)</c> in row-major order (PyTorch 1.13's
/// <c>uniform_real_distribution&lt;float&gt;</c>, accumulated in double). This is what PEFT's VeRA uses to make its shared
/// projections from <c>projection_prng_key</c>; a test compares it with PyTorch 1.13 output bit for bit. Both backends
/// make VeRA's projections through <see cref="VeraProjections"/>, which uses this one copy.
/// </summary>
public sealed class TorchMt19937
{
    private const int N = 624, M = 397;
    private readonly uint[] _mt = new uint[N];
    private int _index;

    /// <summary>The generator after <c>manual_seed(seed)</c>.</summary>
    public TorchMt19937(ulong seed)
    {
        _mt[0] = (uint)seed;
        for (int i = 1; i < N; i++) _mt[i] = 1812433253u * (_mt[i - 1] ^ (_mt[i - 1] >> 30)) + (uint)i;
        _index = N;
    }

    /// <summary>The next 32-bit output (MT19937 with the standard tempering).</summary>
    public uint Next()
    {
        if (_index >= N)
        {
            for (int i = 0; i < N; i++)
            {
                uint y = (_mt[i] & 0x80000000u) | (_mt[(i + 1) % N] & 0x7FFFFFFFu);
                _mt[i] = _mt[(i + M) % N] ^ (y >> 1) ^ ((y & 1u) != 0 ? 0x9908B0DFu : 0u);
            }
            _index = 0;
        }
        uint x = _mt[_index++];
        x ^= x >> 11;
        x ^= (x << 7) & 0x9D2C5680u;
        x ^= (x << 15) & 0xEFC60000u;
        x ^= x >> 18;
        return x;
    }

    /// <summary><c>uniform_(from, to)</c> on a float32 tensor of <paramref name="dst"/>'s length.</summary>
    public void FillUniform(Span<float> dst, float from, float to)
    {
        float range = to - from;
        for (int i = 0; i < dst.Length; i++)
        {
            double u = (Next() & 0xFFFFFFu) * (1.0 / 16777216.0);
            dst[i] = (float)(u * range + from);
        }
    }

    /// <summary>
    /// PEFT's VeRA <c>_kaiming_init</c>: U(−b, b) with b = √3·√2/√fan_in, fan_in = the shape's second dimension,
    /// the bound computed in double and cast to float as torch does.
    /// </summary>
    public float[] KaimingUniform(int rows, int cols)
    {
        double bound = Math.Sqrt(3.0) * (Math.Sqrt(2.0) / Math.Sqrt(cols));
        var data = new float[rows * cols];
        FillUniform(data, (float)-bound, (float)bound);
        return data;
    }
}
