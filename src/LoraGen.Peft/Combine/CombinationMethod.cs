namespace LoraGen.Combine;

/// <summary>How <see cref="AdapterCombination"/> folds several LoRA adapters into one (PEFT's <c>combination_type</c>).</summary>
public enum CombinationMethod
{
    /// <summary>
    /// PEFT's <c>linear</c>: every adapter must have the same rank r; A = Σ √(wᵢ·sᵢ)·Aᵢ and B = Σ √(wᵢ·sᵢ)·Bᵢ,
    /// where sᵢ is adapter i's scaling at that layer. The result has rank r and scaling 1.
    /// </summary>
    Linear,

    /// <summary>
    /// PEFT's <c>cat</c>: A stacks the Aᵢ along the rank (rows), B the wᵢ·sᵢ·Bᵢ along the rank (columns), so
    /// B·A = Σ wᵢ·sᵢ·Bᵢ·Aᵢ exactly. The result has rank Σ rᵢ and scaling 1.
    /// </summary>
    Cat,

    /// <summary>
    /// PEFT's <c>svd</c>: the best rank-k approximation of ΔW = Σ wᵢ·sᵢ·Bᵢ·Aᵢ (k = the largest rᵢ by default), with
    /// B = U_k·diag(σ_k) and A = V_kᵀ; scaling 1. Any weights, any ranks.
    /// </summary>
    Svd,

    /// <summary>
    /// PEFT's <c>ties</c> (Yadav et al. 2023), on A and on B separately with weights √(wᵢ·sᵢ) as PEFT does: keep each
    /// factor's ⌊density·n⌋ largest entries, elect each entry's sign, average the weighted entries that agree. Same
    /// rank r in, rank r out, scaling 1. Needs <see cref="TaskArithmeticOptions"/>.
    /// </summary>
    Ties,

    /// <summary>
    /// PEFT's <c>dare_linear</c> (Yu et al. 2023): drop each entry of each factor with probability 1 − density,
    /// rescale the kept ones by 1/density, then the weighted sum (weights √(wᵢ·sᵢ)). Seeded.
    /// </summary>
    DareLinear,

    /// <summary>PEFT's <c>dare_ties</c>: DARE's random drop and rescale, then TIES's sign election and disjoint merge. Seeded.</summary>
    DareTies,

    /// <summary>PEFT's <c>magnitude_prune</c>: TIES's trimming, then the weighted sum (no sign election).</summary>
    MagnitudePrune,

    /// <summary>
    /// PEFT's <c>ties_svd</c>: TIES (trim to density, elect signs, disjoint merge) on each adapter's whole ΔWᵢ = sᵢ·Bᵢ·Aᵢ
    /// with weights wᵢ, then the truncated SVD of the result to the svd rank (default: the largest rᵢ), as
    /// <see cref="Svd"/>. Any ranks. Needs <see cref="TaskArithmeticOptions"/>.
    /// </summary>
    TiesSvd,

    /// <summary>PEFT's <c>dare_linear_svd</c>: DARE's drop and rescale on each ΔWᵢ, the weighted sum, then the truncated SVD. Seeded.</summary>
    DareLinearSvd,

    /// <summary>PEFT's <c>dare_ties_svd</c>: DARE's drop and rescale on each ΔWᵢ, sign election and disjoint merge, then the truncated SVD. Seeded.</summary>
    DareTiesSvd,

    /// <summary>PEFT's <c>magnitude_prune_svd</c>: magnitude trimming of each ΔWᵢ, the weighted sum, then the truncated SVD.</summary>
    MagnitudePruneSvd,
}
