using BenchmarkDotNet.Attributes;
using LoraGen.Kernels;
using LoraGen.Tensors;

namespace LoraGen.Benchmarks;

/// <summary>Square fp32 GEMM, C = A·B, on all cores, at the sizes the brief quotes PyTorch for.</summary>
[MemoryDiagnoser(false)]
public class GemmBenchmarks
{
    private float[] _a = [], _b = [], _c = [];

    /// <summary>Matrix size n (n×n times n×n).</summary>
    [Params(256, 512, 1024, 2048)]
    public int N { get; set; }

    /// <summary>Random operands.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(1);
        _a = new float[N * N];
        _b = new float[N * N];
        _c = new float[N * N];
        rng.FillNormal(_a, 0, 1);
        rng.FillNormal(_b, 0, 1);
    }

    /// <summary>C = A·B.</summary>
    [Benchmark]
    public void Sgemm() => Gemm.Sgemm(false, false, N, N, N, 1f, _a, N, _b, N, 0f, _c, N);

    /// <summary>C = A·Bᵀ (the Linear forward layout).</summary>
    [Benchmark]
    public void SgemmTransB() => Gemm.Sgemm(false, true, N, N, N, 1f, _a, N, _b, N, 0f, _c, N);
}
