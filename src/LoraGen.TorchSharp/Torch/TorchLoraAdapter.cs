using LoraGen.Peft;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraGen.Torch;

/// <summary>
/// One named adapter of a <see cref="TorchLoraLayer"/>: the parameters A and B (registered as <c>A</c> and <c>B</c>),
/// DoRA's magnitude m (registered as <c>magnitude</c>, for a DoRA adapter) and, for a Linear with dropout, the dropout module on the adapter's input. It is a child of its layer, which is a
/// child of the module that owns the adapted Linear/Embedding, so moving, converting, training-mode switches, state
/// dicts and <c>parameters()</c> of the owner all reach it. Asked to convert to float16 or bfloat16 it converts to
/// float32 instead: the adapter trains in fp32 on a half-precision base, as PEFT's default.
/// </summary>
public sealed class TorchLoraAdapter : nn.Module
{
    /// <summary>The registered name of A inside the adapter.</summary>
    public const string AName = "A";

    /// <summary>The registered name of B inside the adapter.</summary>
    public const string BName = "B";

    /// <summary>The registered name of DoRA's magnitude inside the adapter.</summary>
    public const string MagnitudeName = "magnitude";

    private const string DropoutName = "dropout";

    internal TorchLoraAdapter(string name, LayerKind kind, TorchLoraConfig config, Tensor a, Tensor b, Tensor? magnitude = null) : base(nameof(TorchLoraAdapter))
    {
        Name = name;
        Kind = kind;
        Config = config;
        register_parameter(AName, new Parameter(a, requires_grad: true).DetachFromDisposeScope() as Parameter ?? throw new InvalidOperationException("A is not a parameter."));
        register_parameter(BName, new Parameter(b, requires_grad: true).DetachFromDisposeScope() as Parameter ?? throw new InvalidOperationException("B is not a parameter."));
        if (magnitude is not null)
            register_parameter(MagnitudeName, new Parameter(magnitude, requires_grad: true).DetachFromDisposeScope() as Parameter ?? throw new InvalidOperationException("m is not a parameter."));
        if (kind == LayerKind.Linear && config.Dropout > 0)
        {
            DropoutModule = nn.Dropout(config.Dropout);
            register_module(DropoutName, DropoutModule);
        }
    }

    /// <summary>The adapter's name (PEFT's adapter name, e.g. <c>default</c>).</summary>
    public string Name { get; }

    /// <summary>Linear or Embedding: fixes the shapes of A and B.</summary>
    public LayerKind Kind { get; }

    /// <summary>Rank, alpha, dropout, init, rsLoRA.</summary>
    public TorchLoraConfig Config { get; }

    /// <summary>α/r, or α/√r with rsLoRA.</summary>
    public double Scaling => Config.Scaling;

    /// <summary>
    /// A: [r, in] for a Linear, [r, num_embeddings] for an Embedding. Read it when needed: converting the owner
    /// (<c>to(dtype/device)</c>) replaces the parameter object.
    /// </summary>
    public Parameter MatrixA => get_parameter(AName) ?? throw new InvalidOperationException($"adapter '{Name}' has no {AName}.");

    /// <summary>B: [out, r] for a Linear, [embedding_dim, r] for an Embedding. Replaced by conversions, as <see cref="MatrixA"/>.</summary>
    public Parameter MatrixB => get_parameter(BName) ?? throw new InvalidOperationException($"adapter '{Name}' has no {BName}.");

    /// <summary>DoRA's magnitude m: [out] for a Linear, [embedding_dim] for an Embedding; null for plain LoRA. Replaced by conversions, as <see cref="MatrixA"/>.</summary>
    public Parameter? Magnitude => Config.UseDora ? get_parameter(MagnitudeName) : null;

    /// <summary>
    /// PiSSA/OLoRA: A and B as initialised, float32 row-major (the base weight holds W − s·B₀A₀), so a save can
    /// convert the adapter to plain LoRA relative to the original W; null for other initialisations.
    /// </summary>
    public (float[] A, float[] B)? Initial { get; internal set; }

    /// <summary>A, B and (DoRA) the magnitude: what trains.</summary>
    public IEnumerable<Parameter> Trainable()
    {
        yield return MatrixA;
        yield return MatrixB;
        if (Magnitude is { } m) yield return m;
    }

    /// <summary>The dropout on the adapter's input, or null (no dropout, or an Embedding).</summary>
    internal Dropout? DropoutModule { get; }

    /// <summary>The dtype an adapter takes for a base (or a conversion) of <paramref name="requested"/>: float16 and bfloat16 become float32.</summary>
    public static ScalarType AdapterDType(ScalarType requested) =>
        requested is ScalarType.Float16 or ScalarType.BFloat16 ? ScalarType.Float32 : requested;

    /// <summary>Registration is explicit (constructor); nothing is registered by reflection.</summary>
    protected override void RegisterComponents() { }

    /// <summary>Converts A and B, keeping fp32 where a half type is asked for.</summary>
    protected override nn.Module _to(ScalarType dtype, bool non_blocking) => base._to(AdapterDType(dtype), non_blocking);

    /// <summary>Moves and converts A and B, keeping fp32 where a half type is asked for.</summary>
    protected override nn.Module _to(Device device, ScalarType dtype, bool non_blocking) => base._to(device, AdapterDType(dtype), non_blocking);
}
