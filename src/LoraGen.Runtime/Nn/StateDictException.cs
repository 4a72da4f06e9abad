namespace LoraGen.Nn;

/// <summary>Thrown by a strict load whose keys or shapes do not match the model; nothing was loaded.</summary>
public sealed class StateDictException(LoadReport report) : Exception($"State dict does not match the model — {report}")
{
    /// <summary>The details.</summary>
    public LoadReport Report { get; } = report;
}
