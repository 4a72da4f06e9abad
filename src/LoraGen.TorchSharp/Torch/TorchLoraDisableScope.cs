namespace LoraGen.Torch;

/// <summary>
/// Disables LoRA (or VeRA/NoLA) on a set of layers while it lives (<c>using (layer.Disable()) { ... }</c>): the hooks add nothing,
/// so unmerged adapters do not contribute. Disposing it restores each layer's previous state, so scopes nest.
/// </summary>
public sealed class TorchLoraDisableScope : IDisposable
{
    private readonly (ITorchAdapterLayer Layer, bool WasDisabled)[] _saved;
    private bool _disposed;

    /// <summary>Disables every layer in <paramref name="layers"/> until disposal.</summary>
    public TorchLoraDisableScope(IEnumerable<ITorchAdapterLayer> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        _saved = layers.Select(l => (l, l.Disabled)).ToArray();
        foreach (var (layer, _) in _saved) layer.Disabled = true;
    }

    /// <summary>Restores each layer's state from before the scope (most recent first).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        for (int i = _saved.Length - 1; i >= 0; i--) _saved[i].Layer.Disabled = _saved[i].WasDisabled;
    }
}
