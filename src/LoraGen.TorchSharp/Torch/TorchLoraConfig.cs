using LoraGen.Contract;

namespace LoraGen.Torch;

/// <summary>The settings of one low-rank adapter on a TorchSharp layer (as the managed backend's, same rules).</summary>
/// <param name="Rank">r, the inner dimension of B·A (≥ 1).</param>
/// <param name="Alpha">α, the scaling numerator (&gt; 0, finite).</param>
/// <param name="Dropout">Dropout probability on the adapter's input (Linear only, as PEFT), in [0, 1).</param>
/// <param name="Init">
/// How A and B of a Linear adapter start: Kaiming or Gaussian A with B = 0, or PiSSA/OLoRA (A and B from W's SVD or
/// QR, W rewritten to the residual W − s·BA). Embedding adapters always get A = 0, B ~ N(0, 1).
/// </param>
/// <param name="UseRsLora">Scaling α/√r (rank-stabilized) instead of α/r.</param>
/// <param name="UseDora">DoRA (PEFT <c>use_dora</c>): a trainable magnitude per output feature rescales W + s·BA to m/‖W + s·BA‖.</param>
/// <param name="PissaNiter">With <see cref="LoraInit.Pissa"/>: 0 for the exact SVD, N &gt; 0 for PEFT's <c>pissa_niter_N</c> (a randomized SVD with N power iterations).</param>
/// <param name="Variant">LoRA (with or without DoRA), VeRA or NoLA (<see cref="LoraVariant"/>, Linear layers only); rank, α (NoLA's scaling) and dropout apply to all three.</param>
/// <param name="NolaBases">NoLA's k for A and for B (a run-time override may set them apart).</param>
public sealed record TorchLoraConfig(int Rank, double Alpha, double Dropout = 0, LoraInit Init = LoraInit.Kaiming, bool UseRsLora = false,
    bool UseDora = false, int PissaNiter = 0, LoraVariant Variant = LoraVariant.Lora, int NolaBases = 64)
{
    /// <summary>The factor applied to B·A: α/r, or α/√r with rsLoRA.</summary>
    public double Scaling => UseRsLora ? Alpha / Math.Sqrt(Rank) : Alpha / Rank;

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad value (the contract's <c>ConfigRules</c>).</summary>
    public void Validate(string where)
    {
        var problem = ConfigRules.Rank(Rank) ?? ConfigRules.Alpha(Alpha) ?? ConfigRules.Dropout(Dropout);
        if (problem is not null)
            throw new ArgumentException($"{where}: {problem} (rank {Rank}, alpha {Alpha}, dropout {Dropout}).");
        if (!Enum.IsDefined(Init)) throw new ArgumentException($"{where}: unknown LoRA init {(int)Init}.");
        if (PissaNiter < 0) throw new ArgumentException($"{where}: PiSSA's power iterations must be ≥ 0, got {PissaNiter}.");
        if (UseDora && Init is LoraInit.Pissa or LoraInit.Olora)
            throw new ArgumentException($"{where}: {Init} initialisation with DoRA is not supported; use one or the other.");
        if (!Enum.IsDefined(Variant)) throw new ArgumentException($"{where}: unknown LoRA variant {(int)Variant}.");
        if (Variant == LoraVariant.Nola && NolaBases < 1) throw new ArgumentException($"{where}: NoLA needs at least one basis (k ≥ 1), got {NolaBases}.");
        if (Variant != LoraVariant.Lora && (UseDora || Init is LoraInit.Pissa or LoraInit.Olora))
            throw new ArgumentException($"{where}: {Variant} cannot be combined with {(UseDora ? "DoRA" : Init.ToString())}; its matrices are frozen random projections.");
    }
}
