using LoraGen.Bases;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using Keys = LoraGen.Contract.PeftKeys;

namespace LoraGen.Cli;

/// <summary>
/// A VeRA (PEFT's <c>peft_type: "VERA"</c>) or NoLA (LoraGen's <c>"NOLA"</c>, docs/nola-format.md) adapter given on the
/// command line, read by key: per adapted module its two trainable vectors (VeRA λ_b [out] and λ_d [r]; NoLA α [k_A]
/// and β [k_B]) and, for VeRA saved with <c>save_projection</c>, the shared <c>vera_A</c>/<c>vera_B</c>. Each layer's
/// update is turned into the LoRA form ΔW = scaling·B·A that <c>merge</c> streams, as plain float arrays made by the
/// PEFT unit's one copy of each generator and factor rule (<see cref="VeraProjections"/> and <see cref="VeraFactors"/>,
/// <see cref="NolaBasisGenerator"/> and <see cref="NolaFactors"/>), which both backends use too, so the CLI and the
/// runtimes cannot disagree about them.
/// </summary>
internal sealed class BasisAdapterInput : IDisposable
{
    private BasisAdapterInput(BasisAdapterConfig config, SafetensorsFile weights, string weightsPath, string configPath,
        IReadOnlyList<string> paths, IReadOnlyList<string> otherKeys)
    {
        Config = config;
        Weights = weights;
        WeightsPath = weightsPath;
        ConfigPath = configPath;
        Paths = paths;
        OtherKeys = otherKeys;
    }

    public BasisAdapterConfig Config { get; }
    public SafetensorsFile Weights { get; }
    public string WeightsPath { get; }
    public string ConfigPath { get; }

    /// <summary>The adapted module paths (both vectors present), in ordinal order.</summary>
    public IReadOnlyList<string> Paths { get; }

    /// <summary>Keys that are neither a layer's vector nor VeRA's shared projection.</summary>
    public IReadOnlyList<string> OtherKeys { get; }

    public bool IsVera => Config.Variant == LoraVariant.Vera;

    /// <summary>"VeRA" or "NoLA", for messages.</summary>
    public string Name => IsVera ? "VeRA" : "NoLA";

    /// <summary>The key of the first vector of layer <paramref name="path"/> (VeRA λ_b [out], NoLA α [k_A]).</summary>
    public string FirstKey(string path) => IsVera ? Keys.VeraLambdaBKey(path) : Keys.NolaAlphaKey(path);

    /// <summary>The key of the second vector of layer <paramref name="path"/> (VeRA λ_d [r], NoLA β [k_B]).</summary>
    public string SecondKey(string path) => IsVera ? Keys.VeraLambdaDKey(path) : Keys.NolaBetaKey(path);

    /// <summary>Whether VeRA's shared projections are in the file (<c>save_projection</c>).</summary>
    public bool HasProjection => IsVera && (Weights.Contains(Keys.VeraSharedA) || Weights.Contains(Keys.VeraSharedB));

    /// <summary>Trainable numbers: the two vectors of every layer (VeRA r + out, NoLA k_A + k_B per layer).</summary>
    public long TrainableCount => Paths.Sum(p => Weights.Info(FirstKey(p)).ElementCount + Weights.Info(SecondKey(p)).ElementCount);

    /// <summary>
    /// Whether <paramref name="path"/> is a VeRA or NoLA adapter: a directory, or an adapter .safetensors file, whose
    /// <c>adapter_config.json</c> names one of those <c>peft_type</c>s.
    /// </summary>
    public static bool IsBasis(string path)
    {
        if (Directory.Exists(path)) return BasisAdapterConfig.IsBasisType(BasisAdapterConfig.PeftTypeIn(path));
        if (!File.Exists(path)) return false;
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        return BasisAdapterConfig.IsBasisType(BasisAdapterConfig.PeftTypeIn(dir));
    }

    /// <summary>Opens the adapter at <paramref name="path"/> (see <see cref="IsBasis"/>); a vector without its partner is an error naming it.</summary>
    public static BasisAdapterInput Open(string path)
    {
        BasisAdapterConfig config;
        SafetensorsFile weights;
        string weightsPath, configPath;
        if (Directory.Exists(path))
        {
            (config, weights) = AdapterDirectory.OpenBasis(path);
            weightsPath = Path.Combine(path, AdapterKeys.WeightsFile);
            configPath = Path.Combine(path, AdapterKeys.ConfigFile);
        }
        else
        {
            configPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, AdapterKeys.ConfigFile);
            config = BasisAdapterConfig.Load(configPath);
            weights = SafetensorsFile.Open(path);
            weightsPath = path;
        }
        try
        {
            bool vera = config.Variant == LoraVariant.Vera;
            string first = Suffix(vera ? Keys.VeraLambdaBKey("") : Keys.NolaAlphaKey(""));
            string second = Suffix(vera ? Keys.VeraLambdaDKey("") : Keys.NolaBetaKey(""));
            var firsts = new SortedSet<string>(StringComparer.Ordinal);
            var seconds = new SortedSet<string>(StringComparer.Ordinal);
            var other = new List<string>();
            foreach (var t in weights.Tensors)
            {
                if (vera && t.Name is Keys.VeraSharedA or Keys.VeraSharedB) continue;
                if (PathOf(t.Name, first) is { } p1) firsts.Add(p1);
                else if (PathOf(t.Name, second) is { } p2) seconds.Add(p2);
                else other.Add(t.Name);
            }
            foreach (var p in firsts)
                if (!seconds.Contains(p))
                    throw CliException.Input($"{weightsPath}: key '{(vera ? Keys.VeraLambdaBKey(p) : Keys.NolaAlphaKey(p))}' has no partner '{(vera ? Keys.VeraLambdaDKey(p) : Keys.NolaBetaKey(p))}'.");
            foreach (var p in seconds)
                if (!firsts.Contains(p))
                    throw CliException.Input($"{weightsPath}: key '{(vera ? Keys.VeraLambdaDKey(p) : Keys.NolaBetaKey(p))}' has no partner '{(vera ? Keys.VeraLambdaBKey(p) : Keys.NolaAlphaKey(p))}'.");
            if (firsts.Count == 0)
                throw CliException.Input($"{weightsPath}: the {config.PeftType} adapter has no layer (no key ending in '{first}').");
            if (!vera)
            {
                if (config.MetadataConflict(weights.Metadata) is { } conflict) throw CliException.Input($"{weightsPath}: {conflict}");
            }
            return new BasisAdapterInput(config, weights, weightsPath, configPath, firsts.ToList(), other);
        }
        catch
        {
            weights.Dispose();
            throw;
        }

        static string Suffix(string keyOfEmptyPath) => keyOfEmptyPath[Keys.Prefix.Length..];
        static string? PathOf(string key, string suffix) =>
            key.StartsWith(Keys.Prefix, StringComparison.Ordinal) && key.EndsWith(suffix, StringComparison.Ordinal) && key.Length > Keys.Prefix.Length + suffix.Length
                ? key[Keys.Prefix.Length..^suffix.Length] : null;
    }

    /// <summary>
    /// VeRA's shared projection for layers up to [<paramref name="maxOut"/>, <paramref name="maxIn"/>]: the file's
    /// <c>vera_A</c> [r, ≥ max_in] and <c>vera_B</c> [≥ max_out, r] when saved, else PEFT's, regenerated from
    /// <c>projection_prng_key</c> (torch's generator, bit for bit). A [r, Columns] and B [rows, r], row-major.
    /// </summary>
    public (float[] A, int Columns, float[] B) Projection(int maxIn, int maxOut)
    {
        int r = Config.R;
        if (!HasProjection)
        {
            var (ga, gb) = VeraProjections.Generate(Config.Seed, r, maxIn, maxOut);
            return (ga, maxIn, gb);
        }
        foreach (var key in new[] { Keys.VeraSharedA, Keys.VeraSharedB })
            if (!Weights.Contains(key))
                throw CliException.Input($"{WeightsPath}: key '{key}' is missing; the file has only one of VeRA's two shared projections.");
        var a = Weights.Info(Keys.VeraSharedA).Shape;
        var b = Weights.Info(Keys.VeraSharedB).Shape;
        if (a.Length != 2 || a[0] != r || a[1] < maxIn)
            throw CliException.Input($"{WeightsPath}: key '{Keys.VeraSharedA}' is [{string.Join(", ", a)}]; the adapted layers need [{r}, ≥ {maxIn}] (r from {ConfigPath}).");
        if (b.Length != 2 || b[1] != r || b[0] < maxOut)
            throw CliException.Input($"{WeightsPath}: key '{Keys.VeraSharedB}' is [{string.Join(", ", b)}]; the adapted layers need [≥ {maxOut}, {r}] (r from {ConfigPath}).");
        return (Weights.ReadFloats(Keys.VeraSharedA), checked((int)a[1]), Weights.ReadFloats(Keys.VeraSharedB));
    }

    /// <summary>
    /// Layer <paramref name="path"/>, whose weight is [<paramref name="outDim"/>, <paramref name="inDim"/>] (as a Linear),
    /// in the LoRA form ΔW = Scaling·B·A: VeRA A = A[:, :in], B = diag(λ_b)·B[:out, :]·diag(λ_d), scaling 1 (PEFT's VeRA
    /// has no α); NoLA A = Σᵢ αᵢAᵢ, B = Σⱼ βⱼBⱼ, scaling lora_alpha / r. A [r, in] and B [out, r] are row-major.
    /// </summary>
    public (float[] A, float[] B, int R, float Scaling) Factors(string path, int outDim, int inDim, (float[] A, int Columns, float[] B)? projection)
    {
        int r = Config.R;
        if (IsVera)
        {
            var shared = projection ?? throw new ArgumentNullException(nameof(projection), "VeRA's factors need the shared projection.");
            var lambdaB = Vector(FirstKey(path), outDim, $"the layer's {outDim} outputs");
            var lambdaD = Vector(SecondKey(path), r, $"r = {r} from {ConfigPath}");
            var a = VeraFactors.SliceA(shared.A, r, shared.Columns, inDim);
            var b = VeraFactors.ScaledB(VeraFactors.SliceB(shared.B, r, outDim), lambdaB, lambdaD);
            return (a, b, r, 1f);
        }
        var alpha = Vector(FirstKey(path), Config.NumBasisA, $"{Contract.ConfigFields.NumBasisA} = {Config.NumBasisA} from {ConfigPath}");
        var beta = Vector(SecondKey(path), Config.NumBasisB, $"{Contract.ConfigFields.NumBasisB} = {Config.NumBasisB} from {ConfigPath}");
        var (basesA, basesB) = NolaBasisGenerator.Generate(Config.Seed, path, Config.NumBasisA, Config.NumBasisB, r, inDim, outDim);
        var (fa, fb) = NolaFactors.Compute(basesA, basesB, alpha, beta, r, inDim, outDim);
        return (fa, fb, r, (float)(Config.LoraAlpha / r));
    }

    /// <summary>A 1-D vector of <paramref name="length"/> elements, or an error naming the key and where the length comes from.</summary>
    private float[] Vector(string key, int length, string why)
    {
        var shape = Weights.Info(key).Shape;
        if (shape.Length != 1 || shape[0] != length)
            throw CliException.Input($"{WeightsPath}: key '{key}' is [{string.Join(", ", shape)}]; expected [{length}] ({why}).");
        return Weights.ReadFloats(key);
    }

    public void Dispose() => Weights.Dispose();
}
