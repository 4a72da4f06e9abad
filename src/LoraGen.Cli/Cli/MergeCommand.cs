using System.CommandLine;
using System.Numerics;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using Spectre.Console;

namespace LoraGen.Cli;

/// <summary>
/// <c>loragen merge ADAPTER --base MODEL -o OUT</c>: W += s·B·A for every adapted layer, streamed block by block
/// (float32 compute, the base's dtype, sharding, header and key order kept), other files of the model directory
/// copied, the output built in a temporary directory and moved into place. A DoRA adapter (PEFT's <c>use_dora</c>
/// with a magnitude vector per layer) merges as PEFT does: W' = m ⊙ (W + s·B·A) / ‖W + s·B·A‖, the norm taken per
/// output feature — per row of a Linear weight [out, in]; per column of an Embedding [num, dim] or of a
/// <c>fan_in_fan_out</c> weight [in, out], which takes one extra read pass for the norms. A VeRA adapter (PEFT's
/// <c>peft_type: "VERA"</c>) merges W += diag(λ_b)·B[:out, :]·diag(λ_d)·A[:, :in] (no α scaling, as PEFT), the shared
/// projection read from the file or regenerated from <c>projection_prng_key</c>; a NoLA adapter (docs/nola-format.md)
/// W += (α/r)·(Σⱼ βⱼBⱼ)(Σᵢ αᵢAᵢ), the bases regenerated from <c>nola_seed</c>. Both stream as rank-r updates.
/// </summary>
internal static class MergeCommand
{
    /// <summary>Rows are merged in blocks of about this many float32 values.</summary>
    private const int BlockFloats = 1 << 20;

    public static Command Create(CliContext ctx)
    {
        var adapter = new Argument<string>("adapter") { Description = "PEFT adapter directory (or adapter .safetensors)" };
        var baseOpt = new Option<string>("--base", "-b") { Description = "base model directory or .safetensors file", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "output directory", Required = true };
        var safe = new Option<bool>("--safe") { Description = "refuse to write NaN or Inf (names the key)" };
        var force = new Option<bool>("--force") { Description = "replace an existing output" };
        var cmd = new Command("merge", "Merge an adapter into a base checkpoint: W += scaling·B·A, DoRA's m·(W + scaling·B·A)/‖·‖, VeRA's diag(λ_b)·B·diag(λ_d)·A or NoLA's (streaming, dtype and sharding kept).")
            { adapter, baseOpt, output, safe, force };
        cmd.SetAction(p => Run(ctx, p.GetValue(adapter)!, p.GetValue(baseOpt)!, p.GetValue(output)!, p.GetValue(safe), p.GetValue(force)));
        return cmd;
    }

    /// <summary>
    /// One adapted base tensor: <see cref="Factors"/> gives its update in LoRA form, ΔW = s·B·A with A [r, in] and
    /// B [out, r] (read when the tensor's turn comes); <see cref="Label"/> is the adapter key errors name; the layout;
    /// and (DoRA) its magnitude vector.
    /// </summary>
    private sealed record Plan(string Label, Func<(float[] A, float[] B, int R, float Scaling)> Factors, bool Transposed, Func<float[]>? Magnitude);

    public static int Run(CliContext ctx, string adapterPath, string basePath, string outputPath, bool safe, bool force)
    {
        if (BasisAdapterInput.IsBasis(adapterPath)) return RunBasis(ctx, adapterPath, basePath, outputPath, safe, force);
        using var adapter = AdapterInput.Open(adapterPath);
        var config = adapter.RequireConfig();
        // DoRA: one magnitude vector per adapted layer, by module path.
        var magnitudes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in adapter.Layout.OtherKeys)
            if (AdapterKeys.TryParse(key, out var magPath, out _, out var part) && part == AdapterKeyPart.Magnitude)
                magnitudes[magPath] = key;
        if (magnitudes.Count > 0 && !config.UseDora)
            throw CliException.Input($"{adapter.WeightsPath}: key '{magnitudes.Values.First()}' is a DoRA magnitude, but {adapter.ConfigPath} does not set {Contract.ConfigFields.UseDora}.");
        if (adapter.Layout.Unpaired.Count > 0)
            throw CliException.Input($"{adapter.WeightsPath}: key '{adapter.Layout.Unpaired[0]}' has no A/B partner.");
        using var weights = WeightSet.Open(basePath);

        var plans = new Dictionary<string, Plan>(StringComparer.Ordinal);
        foreach (var layer in adapter.Layout.Layers)
        {
            if (weights.WeightKeyOf(layer.Path) is not { } baseKey || !weights.TryGet(baseKey, out _, out var info))
                throw CliException.Input($"{adapter.WeightsPath}: key '{layer.AKey}' adapts '{layer.BaseKey}', which {basePath} does not have.");
            var problem = LayerShapes.Problem(layer, info.Shape, adapter.Weights.Info(layer.AKey).Shape, adapter.Weights.Info(layer.BKey).Shape,
                config.FanInFanOut, config.RankFor(layer.Path));
            if (problem is not null) throw CliException.Input($"{adapter.WeightsPath}: {problem}.");
            if (!info.DType.IsFloat())
                throw CliException.Input($"{basePath}: key '{baseKey}' is {info.DType}; only float weights can be merged.");
            bool transposed = LayerShapes.Transposed(layer.Kind, config.FanInFanOut);
            string? magnitudeKey = null;
            if (config.UseDora)
            {
                if (!magnitudes.TryGetValue(layer.Path, out magnitudeKey))
                    throw CliException.Input($"{adapter.WeightsPath}: layer '{layer.Path}' has no DoRA magnitude '{AdapterKeys.Magnitude(layer.Path)}' although {adapter.ConfigPath} sets {Contract.ConfigFields.UseDora}.");
                long features = transposed ? info.Shape[1] : info.Shape[0];
                var magShape = adapter.Weights.Info(magnitudeKey).Shape;
                if (magShape.Length != 1 || magShape[0] != features)
                    throw CliException.Input($"{adapter.WeightsPath}: key '{magnitudeKey}' has shape [{string.Join(", ", magShape)}]; the weight '{baseKey}' [{string.Join(", ", info.Shape)}] has {features} output features.");
            }
            var l = layer;
            float scaling = (float)config.ScalingFor(layer.Path);
            plans[baseKey] = new Plan(layer.AKey,
                () => (adapter.Weights.ReadFloats(l.AKey), adapter.Weights.ReadFloats(l.BKey), (int)adapter.Weights.Info(l.AKey).Shape[0], scaling),
                transposed, magnitudeKey is { } mk ? () => adapter.Weights.ReadFloats(mk) : null);
        }
        var orphan = magnitudes.FirstOrDefault(kv => !adapter.Layout.Layers.Any(l => l.Path == kv.Key));
        if (orphan.Value is not null)
            throw CliException.Input($"{adapter.WeightsPath}: key '{orphan.Value}' is a DoRA magnitude of '{orphan.Key}', which has no A/B pair.");
        // Saved whole modules (PEFT's modules_to_save) replace the base weight of the same name and shape.
        var replaced = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in adapter.Layout.OtherKeys)
        {
            if (magnitudes.ContainsValue(key)) continue;
            var baseKey = AdapterLayout.BaseKeyOf(key);
            if (baseKey is null || !weights.TryGet(baseKey, out _, out var info) || !info.Shape.AsSpan().SequenceEqual(adapter.Weights.Info(key).Shape))
                throw new CliException(ExitCodes.NotSupported, $"{adapter.WeightsPath}: key '{key}' is no LoRA factor and no saved copy of a base weight; it cannot be merged.");
            replaced[baseKey] = key;
        }

        return Write(ctx, weights, plans, replaced, adapter.Weights, outputPath, safe, force, config.UseDora ? "DoRA " : "");
    }

    /// <summary>
    /// <c>merge</c> of a VeRA or NoLA adapter: each layer's update in LoRA form (<see cref="BasisAdapterInput.Factors"/>:
    /// VeRA diag(λ_b)·B·diag(λ_d)·A, NoLA s·(Σβⱼ Bⱼ)(Σαᵢ Aᵢ)), VeRA's projection taken from the file or regenerated from
    /// its seed once for all layers, sized for the largest adapted layer as PEFT sizes it.
    /// </summary>
    private static int RunBasis(CliContext ctx, string adapterPath, string basePath, string outputPath, bool safe, bool force)
    {
        using var adapter = BasisAdapterInput.Open(adapterPath);
        if (adapter.OtherKeys.Count > 0)
            throw new CliException(ExitCodes.NotSupported, $"{adapter.WeightsPath}: key '{adapter.OtherKeys[0]}' is not part of a {adapter.Config.PeftType} adapter; it cannot be merged.");
        using var weights = WeightSet.Open(basePath);
        bool transposed = adapter.Config.FanInFanOut;   // GPT-2's Conv1D: the base stores W as [in, out]
        var layers = new List<(string Path, string BaseKey, int Out, int In)>();
        foreach (var path in adapter.Paths)
        {
            if (weights.WeightKeyOf(path) is not { } baseKey || !weights.TryGet(baseKey, out _, out var info))
                throw CliException.Input($"{adapter.WeightsPath}: key '{adapter.FirstKey(path)}' adapts '{path + Contract.PeftKeys.WeightSuffix}', which {basePath} does not have.");
            if (info.Shape.Length != 2)
                throw CliException.Input($"{basePath}: key '{baseKey}' is [{string.Join(", ", info.Shape)}]; {adapter.Name} adapts 2-D (Linear) weights only.");
            if (!info.DType.IsFloat())
                throw CliException.Input($"{basePath}: key '{baseKey}' is {info.DType}; only float weights can be merged.");
            int rows = checked((int)info.Shape[0]), cols = checked((int)info.Shape[1]);
            layers.Add(transposed ? (path, baseKey, cols, rows) : (path, baseKey, rows, cols));
        }
        (float[] A, int Columns, float[] B)? projection = adapter.IsVera ? adapter.Projection(layers.Max(l => l.In), layers.Max(l => l.Out)) : null;
        var plans = new Dictionary<string, Plan>(StringComparer.Ordinal);
        foreach (var (path, baseKey, outDim, inDim) in layers)
            plans[baseKey] = new Plan(adapter.FirstKey(path), () => adapter.Factors(path, outDim, inDim, projection), transposed, null);
        return Write(ctx, weights, plans, new Dictionary<string, string>(StringComparer.Ordinal), adapter.Weights, outputPath, safe, force, adapter.Name + " ");
    }

    /// <summary>
    /// Writes the output: every shard streamed in file order — planned tensors merged, <paramref name="replaced"/> ones
    /// (PEFT's modules_to_save) copied from <paramref name="source"/>, the rest copied — into a temporary directory
    /// that replaces <paramref name="outputPath"/> only when complete.
    /// </summary>
    private static int Write(CliContext ctx, WeightSet weights, Dictionary<string, Plan> plans, Dictionary<string, string> replaced, SafetensorsFile source,
        string outputPath, bool safe, bool force, string kind)
    {
        using var target = OutputTarget.Begin(outputPath, force, directory: true);
        long total = weights.TotalBytes;
        int merged = 0;
        ctx.WithProgress("merging", total, total > (256L << 20), progress =>
        {
            var chunk = new byte[4 << 20];
            foreach (var shard in weights.Shards)
            {
                using var input = new TensorStream(shard);
                var outFile = Path.Combine(target.TempPath, Path.GetFileName(shard.Path!));
                using (var output = new FileStream(outFile, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                {
                    output.Write(input.HeaderBytes());
                    foreach (var info in shard.Tensors.OrderBy(t => t.Begin))
                    {
                        if (plans.TryGetValue(info.Name, out var plan))
                        {
                            MergeTensor(input, info, plan, safe, output, progress);
                            merged++;
                        }
                        else if (replaced.TryGetValue(info.Name, out var from))
                        {
                            WriteReplacement(source, from, info, output);
                            progress(info.ByteLength);
                        }
                        else input.CopyTo(info, output, chunk, progress);
                    }
                    output.Flush(flushToDisk: true);
                }
            }
            if (weights.IsDirectory) CopyOtherFiles(weights, target.TempPath);
        });
        target.Commit();
        ctx.Console.MarkupLineInterpolated($"merged [green]{merged}[/] {kind}layers ({replaced.Count} replaced modules) of {weights.Shards.Count} file(s), {total / 1e6:F1} MB, into [blue]{outputPath}[/]");
        return ExitCodes.Ok;
    }

    /// <summary>
    /// Streams one base tensor through W + s·B·A (or its transpose), a block of rows at a time; for DoRA then rescales
    /// each output feature to m / ‖W + s·B·A‖ (rows: within the same pass; columns: norms from a first pass).
    /// </summary>
    private static void MergeTensor(TensorStream input, SafetensorsTensorInfo info, Plan plan, bool safe, Stream output, Action<long> progress)
    {
        int rows = checked((int)info.Shape[0]), cols = checked((int)info.Shape[1]);
        var (a, b, r, s) = plan.Factors();
        // Each output row gets Σ_k coeff[row, k] · M[k, :]: M = A with coeff = s·B (W is [out, in]); M = Bᵀ with coeff = s·Aᵀ (W stored transposed).
        float[] m, coeff;
        if (!plan.Transposed)
        {
            m = a;
            coeff = new float[(long)rows * r];
            for (long i = 0; i < coeff.LongLength; i++) coeff[i] = s * b[i];
        }
        else
        {
            m = new float[(long)r * cols];
            for (int o = 0; o < cols; o++) for (int k = 0; k < r; k++) m[(long)k * cols + o] = b[(long)o * r + k];
            coeff = new float[(long)rows * r];
            for (int k = 0; k < r; k++) for (int i = 0; i < rows; i++) coeff[(long)i * r + k] = s * a[(long)k * rows + i];
        }
        var block = new MergeBlocks(input, info, rows, cols, r, m, coeff);

        // DoRA: m [features] / ‖W + ΔW‖ per output feature.
        float[]? magnitude = plan.Magnitude?.Invoke();
        float[]? columnFactor = null;
        if (magnitude is not null && plan.Transposed)
        {
            var sumSq = new double[cols];
            for (int r0 = 0; r0 < rows; r0 += block.BlockRows)
            {
                var merged = block.Merge(r0, out int n);
                for (int i = 0; i < n; i++)
                    for (int c = 0; c < cols; c++) { double v = merged[i * cols + c]; sumSq[c] += v * v; }
            }
            columnFactor = new float[cols];
            for (int c = 0; c < cols; c++) columnFactor[c] = magnitude[c] / (float)Math.Sqrt(sumSq[c]);
        }

        for (int r0 = 0; r0 < rows; r0 += block.BlockRows)
        {
            var wSpan = block.Merge(r0, out int n);
            for (int i = 0; i < n; i++)
            {
                var row = wSpan.Slice(i * cols, cols);
                if (columnFactor is not null) Multiply(columnFactor, row);
                else if (magnitude is not null) Scale(magnitude[r0 + i] / Norm(row), row);
                if (safe)
                {
                    int bad = IndexOfNonFinite(row);
                    if (bad >= 0)
                        throw new CliException(ExitCodes.NotFinite,
                            $"{input.File.Path}: key '{info.Name}': the merged value at [{r0 + i}, {bad}] is {row[bad]} (adapter {plan.Label}); --safe refuses NaN/Inf, nothing was written.");
                }
            }
            var rawSpan = block.Raw(n);
            SafetensorsDTypes.FromFloat(info.DType, wSpan, rawSpan);
            output.Write(rawSpan);
            progress(rawSpan.Length);
        }
    }

    /// <summary>Reads a block of base rows and adds s·B·A to them (float32), into buffers reused from block to block.</summary>
    private sealed class MergeBlocks(TensorStream input, SafetensorsTensorInfo info, int rows, int cols, int r, float[] m, float[] coeff)
    {
        private readonly int _size = info.DType.Size();
        private readonly float[] _delta = new float[cols];
        private byte[]? _raw;
        private float[]? _w;

        /// <summary>Rows per block (about <see cref="BlockFloats"/> values).</summary>
        public int BlockRows { get; } = Math.Max(1, BlockFloats / cols);

        /// <summary>The raw bytes of the last block's <paramref name="n"/> rows (to convert the result back into).</summary>
        public Span<byte> Raw(int n) => _raw.AsSpan(0, n * cols * _size);

        /// <summary>W + ΔW for rows [r0, r0 + n), n = min(BlockRows, rows − r0), as float32 [n, cols].</summary>
        public Span<float> Merge(int r0, out int n)
        {
            n = Math.Min(BlockRows, rows - r0);
            _raw ??= new byte[(long)Math.Min(BlockRows, rows) * cols * _size];
            _w ??= new float[(long)Math.Min(BlockRows, rows) * cols];
            var rawSpan = Raw(n);
            var wSpan = _w.AsSpan(0, n * cols);
            input.Read(info, (long)r0 * cols * _size, rawSpan);
            SafetensorsDTypes.ToFloat(info.DType, rawSpan, wSpan);
            for (int i = 0; i < n; i++)
            {
                _delta.AsSpan().Clear();
                for (int k = 0; k < r; k++)
                {
                    float c = coeff[(long)(r0 + i) * r + k];
                    if (c != 0) Axpy(c, m.AsSpan(k * cols, cols), _delta);
                }
                Add(_delta, wSpan.Slice(i * cols, cols));
            }
            return wSpan;
        }
    }

    private static void WriteReplacement(SafetensorsFile source, string key, SafetensorsTensorInfo info, Stream output)
    {
        var src = source.Info(key);
        if (src.DType == info.DType) { output.Write(source.RawBytes(key)); return; }
        var f = source.ReadFloats(key);
        var bytes = new byte[info.ByteLength];
        SafetensorsDTypes.FromFloat(info.DType, f, bytes);
        output.Write(bytes);
    }

    private static void CopyOtherFiles(WeightSet weights, string to)
    {
        var shardNames = weights.Shards.Select(s => Path.GetFileName(s.Path!)).ToHashSet(StringComparer.Ordinal);
        foreach (var f in Directory.GetFiles(weights.Root))
        {
            var name = Path.GetFileName(f);
            if (shardNames.Contains(name) || name.Contains(".loragen-tmp", StringComparison.Ordinal)) continue;
            File.Copy(f, Path.Combine(to, name));
        }
    }

    private static void Axpy(float c, ReadOnlySpan<float> x, Span<float> y)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vc = new Vector<float>(c);
            for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
                (new Vector<float>(y[i..]) + vc * new Vector<float>(x[i..])).CopyTo(y[i..]);
        }
        for (; i < x.Length; i++) y[i] += c * x[i];
    }

    private static void Add(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] += x[i];
    }

    private static float Norm(ReadOnlySpan<float> x)
    {
        double sum = 0;
        foreach (float v in x) sum += (double)v * v;
        return (float)Math.Sqrt(sum);
    }

    private static void Scale(float c, Span<float> x)
    {
        for (int i = 0; i < x.Length; i++) x[i] *= c;
    }

    private static void Multiply(ReadOnlySpan<float> factor, Span<float> x)
    {
        for (int i = 0; i < x.Length; i++) x[i] *= factor[i];
    }

    private static int IndexOfNonFinite(ReadOnlySpan<float> x)
    {
        for (int i = 0; i < x.Length; i++) if (!float.IsFinite(x[i])) return i;
        return -1;
    }
}
