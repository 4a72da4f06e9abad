namespace LoraGen.Combine;

/// <summary>
/// The settings of PEFT's trimming and dropping combinations (<c>ties</c>, <c>dare_linear</c>, <c>dare_ties</c>,
/// <c>magnitude_prune</c>): PEFT's <c>density</c> and <c>majority_sign_method</c>, and a seed for DARE's random drops.
/// </summary>
/// <param name="Density">The fraction of entries kept, in (0, 1] (PEFT requires it for these methods).</param>
/// <param name="MajoritySign">How TIES elects signs.</param>
/// <param name="Seed">DARE's random drops: the same seed gives the same adapter.</param>
public sealed record TaskArithmeticOptions(double Density, MajoritySignMethod MajoritySign = MajoritySignMethod.Total, ulong Seed = 0)
{
    /// <summary>Throws <see cref="ArgumentException"/> for a density outside (0, 1].</summary>
    public void Validate()
    {
        if (!(Density > 0 && Density <= 1)) throw new ArgumentException($"density must be in (0, 1], got {Density}.", nameof(Density));
    }
}
