namespace LoraGen.Autograd;

/// <summary>An op being timed by <see cref="OpProfiler"/>; <see cref="Dispose"/> records it. The default value records nothing.</summary>
public readonly struct OpScope : IDisposable
{
    internal OpScope(string op, bool backward, long start, long bytes)
    {
        Op = op;
        IsBackward = backward;
        Start = start;
        Bytes = bytes;
    }

    internal string? Op { get; }
    internal bool IsBackward { get; }
    internal long Start { get; }
    internal long Bytes { get; }

    /// <summary>Records the op's time and allocation (nothing when profiling was off at the start).</summary>
    public void Dispose()
    {
        if (Op is not null) OpProfiler.End(this);
    }
}
