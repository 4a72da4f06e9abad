using LoraGen.Tensors;

namespace LoraGen.Autograd;

/// <summary>Whether operations record the autograd graph on this thread, and scopes that switch it off.</summary>
public static class GradMode
{
    [ThreadStatic] private static int _noGradDepth;

    /// <summary>True unless inside a <see cref="NoGrad"/> scope on this thread.</summary>
    public static bool IsEnabled => _noGradDepth == 0;

    /// <summary>Disables graph recording on this thread until the returned scope is disposed.</summary>
    /// <example><code>using var _ = GradMode.NoGrad();</code></example>
    public static NoGradScope NoGrad()
    {
        _noGradDepth++;
        return new NoGradScope(true);
    }

    /// <summary>Ends one <see cref="NoGrad"/> scope.</summary>
    internal static void Exit()
    {
        if (_noGradDepth > 0) _noGradDepth--;
    }

    /// <summary>Whether an operation over these inputs must be recorded.</summary>
    internal static bool Needs(Tensor a) => _noGradDepth == 0 && a.RequiresGrad;

    internal static bool Needs(Tensor a, Tensor b) => _noGradDepth == 0 && (a.RequiresGrad || b.RequiresGrad);

    internal static bool Needs(Tensor a, Tensor b, Tensor? c) =>
        _noGradDepth == 0 && (a.RequiresGrad || b.RequiresGrad || (c?.RequiresGrad ?? false));

    internal static bool Needs(ReadOnlySpan<Tensor> inputs)
    {
        if (_noGradDepth != 0) return false;
        foreach (var t in inputs) if (t.RequiresGrad) return true;
        return false;
    }
}
