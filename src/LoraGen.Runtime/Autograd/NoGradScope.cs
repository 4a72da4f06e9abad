namespace LoraGen.Autograd;

/// <summary>The scope returned by <see cref="GradMode.NoGrad"/>: recording resumes when it is disposed.</summary>
public readonly struct NoGradScope : IDisposable
{
    private readonly bool _active;

    internal NoGradScope(bool active) => _active = active;

    /// <summary>Re-enables recording (if this scope disabled it).</summary>
    public void Dispose()
    {
        if (_active) GradMode.Exit();
    }
}
