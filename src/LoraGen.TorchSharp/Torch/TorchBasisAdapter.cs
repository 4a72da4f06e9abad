using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraGen.Torch;

/// <summary>
/// One named VeRA or NoLA adapter of a <see cref="TorchBasisLayer"/> (a Linear [out, in]), the managed backend's
/// <c>VeraAdapter</c>/<c>NolaAdapter</c> in torch tensors. Frozen random matrices are buffers (they move and convert
/// with the owner and never train); the few trainable numbers are parameters.
/// <list type="bullet">
/// <item>VeRA: buffers <c>A</c> [r, in] and <c>B</c> [out, r] (the adapter's shared projections sliced to this layer),
/// parameters <c>lambda_d</c> [r] and <c>lambda_b</c> [out]; y += λ_b ⊙ ((λ_d ⊙ (dropout(x)·Aᵀ))·Bᵀ), no α/r scaling
/// (as PEFT), ΔW = diag(λ_b)·B·diag(λ_d)·A.</item>
/// <item>NoLA: buffers <c>bases_A</c> [k_A, r·in] and <c>bases_B</c> [k_B, out·r], parameters <c>alpha</c> [k_A] and
/// <c>beta</c> [k_B]; A = Σ αᵢAᵢ, B = Σ βⱼBⱼ, y += s·(dropout(x)·Aᵀ)·Bᵀ with s = lora_alpha / r, ΔW = s·B·A.</item>
/// </list>
/// Asked to convert to float16/bfloat16 it stays float32, as LoRA adapters do.
/// </summary>
public sealed class TorchBasisAdapter : nn.Module
{
    private const string FirstParameter = "first", SecondParameter = "second", FirstBuffer = "first_frozen", SecondBuffer = "second_frozen", DropoutName = "dropout";
    private readonly long _outDim, _inDim;

    internal TorchBasisAdapter(string name, LoraVariant variant, int rank, double scaling, double dropout, long outDim, long inDim,
        Tensor first, Tensor second, Tensor frozenFirst, Tensor frozenSecond) : base(nameof(TorchBasisAdapter))
    {
        Name = name;
        Variant = variant;
        Rank = rank;
        Scaling = scaling;
        Dropout = dropout;
        _outDim = outDim;
        _inDim = inDim;
        register_parameter(FirstParameter, new Parameter(first, requires_grad: true).DetachFromDisposeScope() as Parameter ?? throw new InvalidOperationException("not a parameter"));
        register_parameter(SecondParameter, new Parameter(second, requires_grad: true).DetachFromDisposeScope() as Parameter ?? throw new InvalidOperationException("not a parameter"));
        register_buffer(FirstBuffer, frozenFirst.DetachFromDisposeScope());
        register_buffer(SecondBuffer, frozenSecond.DetachFromDisposeScope());
        if (dropout > 0)
        {
            DropoutModule = nn.Dropout(dropout);
            register_module(DropoutName, DropoutModule);
        }
    }

    /// <summary>The adapter's name.</summary>
    public string Name { get; }

    /// <summary><see cref="LoraVariant.Vera"/> or <see cref="LoraVariant.Nola"/>.</summary>
    public LoraVariant Variant { get; }

    /// <summary>r.</summary>
    public int Rank { get; }

    /// <summary>NoLA's s = lora_alpha / r; 1 for VeRA (which has no scaling).</summary>
    public double Scaling { get; }

    /// <summary>vera_dropout / nola_dropout.</summary>
    public double Dropout { get; }

    /// <summary>VeRA λ_b [out] (zeros at creation); NoLA α [k_A]. Read it when needed: conversions replace the object.</summary>
    public Parameter First => get_parameter(FirstParameter) ?? throw new InvalidOperationException($"adapter '{Name}' lost its parameter.");

    /// <summary>VeRA λ_d [r] (d_initial at creation); NoLA β [k_B] (zeros at creation).</summary>
    public Parameter Second => get_parameter(SecondParameter) ?? throw new InvalidOperationException($"adapter '{Name}' lost its parameter.");

    /// <summary>VeRA: A[:, :in] [r, in]; NoLA: the A bases [k_A, r·in]. Frozen.</summary>
    public Tensor FrozenFirst => get_buffer(FirstBuffer) ?? throw new InvalidOperationException($"adapter '{Name}' lost its buffer.");

    /// <summary>VeRA: B[:out, :] [out, r]; NoLA: the B bases [k_B, out·r]. Frozen.</summary>
    public Tensor FrozenSecond => get_buffer(SecondBuffer) ?? throw new InvalidOperationException($"adapter '{Name}' lost its buffer.");

    /// <summary>The trainable tensors, in the managed backend's order (VeRA: λ_d, λ_b; NoLA: α, β).</summary>
    public IEnumerable<Parameter> Trainable() => Variant == LoraVariant.Vera ? [Second, First] : [First, Second];

    internal Dropout? DropoutModule { get; }

    /// <summary>NoLA's A = Σ αᵢAᵢ [r, in] and B = Σ βⱼBⱼ [out, r], with gradient paths to α and β; the caller disposes them.</summary>
    internal (Tensor A, Tensor B) NolaFactors()
    {
        using var a = First.unsqueeze(0).matmul(FrozenFirst);    // [1, k_A]·[k_A, r·in]
        using var b = Second.unsqueeze(0).matmul(FrozenSecond);   // [1, k_B]·[k_B, out·r]
        return (a.reshape(Rank, _inDim), b.reshape(_outDim, Rank));
    }

    /// <summary>The contribution to the output for x [..., in] (already in the adapter's dtype): [..., out].</summary>
    internal Tensor Contribution(Tensor x)
    {
        var xd = DropoutModule is { } d ? d.call(x) : x;
        try
        {
            if (Variant == LoraVariant.Vera)
            {
                using var h = nn.functional.linear(xd, FrozenFirst);   // [..., r]
                using var hd = h.mul(Second);                          // λ_d ⊙
                using var up = nn.functional.linear(hd, FrozenSecond); // [..., out]
                return up.mul(First);                                  // λ_b ⊙
            }
            var (a, b) = NolaFactors();
            using (a)
            using (b)
            {
                using var h = nn.functional.linear(xd, a);             // [..., r]
                using var hs = h.mul(Scaling);
                return nn.functional.linear(hs, b);                    // [..., out]
            }
        }
        finally
        {
            if (!ReferenceEquals(xd, x)) xd.Dispose();
        }
    }

    /// <summary>ΔW [out, in] (no gradient); the caller disposes it.</summary>
    public Tensor Delta()
    {
        using var _ = torch.no_grad();
        if (Variant == LoraVariant.Vera)
        {
            using var lb = First.unsqueeze(1);                        // [out, 1]
            using var scaledB0 = lb.mul(FrozenSecond);                 // λ_b[o]·B[o, k]
            using var scaledB = scaledB0.mul(Second);                  // ·λ_d[k]
            return scaledB.matmul(FrozenFirst);                        // [out, in]
        }
        var (a, b) = NolaFactors();
        using (a)
        using (b)
        {
            using var ba = b.matmul(a);
            return ba.mul(Scaling);
        }
    }

    /// <summary>Registration is explicit (constructor); nothing is registered by reflection.</summary>
    protected override void RegisterComponents() { }

    /// <summary>Converts, keeping fp32 where a half type is asked for.</summary>
    protected override nn.Module _to(ScalarType dtype, bool non_blocking) => base._to(TorchLoraAdapter.AdapterDType(dtype), non_blocking);

    /// <summary>Moves and converts, keeping fp32 where a half type is asked for.</summary>
    protected override nn.Module _to(Device device, ScalarType dtype, bool non_blocking) => base._to(device, TorchLoraAdapter.AdapterDType(dtype), non_blocking);
}
