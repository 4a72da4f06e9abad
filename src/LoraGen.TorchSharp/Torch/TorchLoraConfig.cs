using LoraGen.Contract;

namespace LoraGen.Torch;

/// <summary>The settings of one low-rank adapter on a TorchSharp layer (as the managed backend's, same rules).</summary>
/// <param name="Rank">r, the inner dimension of B·A (≥ 1).</param>
/// <param name="Alpha">α, the scaling numerator (&gt; 0, finite).</param>
/// <param name="Dropout">Dropout probability on the adapter's input (Linear only, as PEFT), in [0, 1).</param>
/// <param name="Init">How A of a Linear adapter is initialized (B is zeros); Embedding adapters always get A = 0, B ~ N(0, 1).</param>
/// <param name="UseRsLora">Scaling α/√r (rank-stabilized) instead of α/r.</param>
public sealed record TorchLoraConfig(int Rank, double Alpha, double Dropout = 0, LoraInit Init = LoraInit.Kaiming, bool UseRsLora = false)
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
    }
}
