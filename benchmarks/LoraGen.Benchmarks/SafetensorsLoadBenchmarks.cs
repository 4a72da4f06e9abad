using BenchmarkDotNet.Attributes;
using LoraGen.SafeTensors;
using LoraGen.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace LoraGen.Benchmarks;

/// <summary>
/// Loading a 256 MiB safetensors file (16 F32 tensors of 1024×4096) against a plain read of the same bytes.
/// The file is in the page cache after the first iteration, so this measures parsing, validation and copying,
/// not the disk.
/// </summary>
public class SafetensorsLoadBenchmarks
{
    /// <summary>The file size in bytes (data only).</summary>
    public const long DataBytes = 16L * 1024 * 4096 * 4;

    private string _path = "";
    private byte[] _buffer = [];
    private Tensor[] _targets = [];

    /// <summary>Writes the file once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _path = Path.Combine(Path.GetTempPath(), "loragen-bench-256mib.safetensors");
        var rng = new Rng(1);
        var tensors = Enumerable.Range(0, 16).Select(i => KeyValuePair.Create($"layers.{i:D2}.weight", Tensor.Uniform(rng, -1, 1, 1024, 4096))).ToList();
        TensorFiles.Save(_path, tensors);
        _buffer = new byte[new FileInfo(_path).Length];
        _targets = tensors.Select(t => Tensor.Zeros(1024, 4096)).ToArray();
    }

    /// <summary>Deletes the file.</summary>
    [GlobalCleanup]
    public void Cleanup() => File.Delete(_path);

    /// <summary>Baseline: read every byte of the file into a buffer.</summary>
    [Benchmark(Baseline = true)]
    public int PlainRead()
    {
        using var fs = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        int total = 0, n;
        while ((n = fs.Read(_buffer, total, _buffer.Length - total)) > 0) total += n;
        return total;
    }

    /// <summary>Open (mmap + validate) and copy every tensor into preallocated model tensors, as LoadWeights does.</summary>
    [Benchmark]
    public int LoadIntoTensors()
    {
        using var f = SafetensorsFile.Open(_path);
        for (int i = 0; i < _targets.Length; i++) f.ReadInto(f.Tensors[i].Name, _targets[i].Data);
        return f.Tensors.Count;
    }

    /// <summary>Open and view every tensor in place (zero copy), touching every element once.</summary>
    [Benchmark]
    public float ZeroCopyView()
    {
        using var f = SafetensorsFile.Open(_path);
        float s = 0;
        foreach (var info in f.Tensors) s += TensorPrimitives.Sum(f.GetTensor(info.Name).Data);
        return s;
    }
}
