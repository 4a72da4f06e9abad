namespace LoraGen.Lora;

/// <summary>The settings of one low-rank adapter.</summary>
/// <param name="Rank">r, the inner dimension of B·A (≥ 1).</param>
/// <param name="Alpha">α, the scaling numerator (&gt; 0).</param>
/// <param name="Dropout">Dropout probability on the adapter's input, in [0, 1).</param>
/// <param name="Init">How A is initialized (B is zeros).</param>
/// <param name="UseRsLora">Scaling α/√r (rank-stabilized) instead of α/r.</param>
/// <param name="UseDora">DoRA (PEFT <c>use_dora</c>): a trainable magnitude per output feature rescales W + s·BA to m/‖W + s·BA‖.</param>
/// <param name="Variant">LoRA (with or without DoRA), VeRA or NoLA (<see cref="LoraVariant"/>); rank, α (NoLA's scaling) and dropout apply to all three.</param>
/// <param name="NolaBases">NoLA's k for A and for B (a run-time override may set them apart).</param>
/// <param name="PissaNiter">With <see cref="LoraInit.Pissa"/>: 0 for the exact SVD, N &gt; 0 for PEFT's <c>pissa_niter_N</c> (a randomized SVD with N power iterations).</param>
public sealed record LoraConfig(int Rank, double Alpha, double Dropout = 0, LoraInit Init = LoraInit.Kaiming, bool UseRsLora = false, bool UseDora = false,
    int PissaNiter = 0, LoraVariant Variant = LoraVariant.Lora, int NolaBases = 64)
{
    /// <summary>The factor applied to B·A: α/r, or α/√r with rsLoRA.</summary>
    public float Scaling => (float)(UseRsLora ? Alpha / Math.Sqrt(Rank) : Alpha / Rank);

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad value.</summary>
    public void Validate(string where)
    {
        if (Rank < 1) throw new ArgumentException($"{where}: LoRA rank must be at least 1, got {Rank}.");
        if (!(Alpha > 0) || double.IsInfinity(Alpha)) throw new ArgumentException($"{where}: LoRA alpha must be positive and finite, got {Alpha}.");
        if (!(Dropout >= 0 && Dropout < 1)) throw new ArgumentException($"{where}: LoRA dropout must be in [0, 1), got {Dropout}.");
        if (PissaNiter < 0) throw new ArgumentException($"{where}: PiSSA's power iterations must be ≥ 0, got {PissaNiter}.");
        if (UseDora && Init is LoraInit.Pissa or LoraInit.Olora)
            throw new ArgumentException($"{where}: {Init} initialisation with DoRA is not supported; use one or the other.");
        if (Variant == LoraVariant.Nola && NolaBases < 1) throw new ArgumentException($"{where}: NoLA needs at least one basis (k ≥ 1), got {NolaBases}.");
        if (Variant != LoraVariant.Lora && (UseDora || Init is LoraInit.Pissa or LoraInit.Olora))
            throw new ArgumentException($"{where}: {Variant} cannot be combined with {(UseDora ? "DoRA" : Init.ToString())}; its matrices are frozen random projections.");
    }
}
