namespace LoraGen.Families;

/// <summary>One step of a fine-tuning run, as reported to the caller.</summary>
/// <param name="Step">1-based step.</param>
/// <param name="Loss">Training loss of the step's batch.</param>
/// <param name="TokensPerSecond">Tokens of this step ÷ its wall time.</param>
/// <param name="ValidationLoss">Mean loss over the held-out windows, on evaluation steps; else null.</param>
public sealed record FineTuneStep(int Step, double Loss, double TokensPerSecond, double? ValidationLoss);
