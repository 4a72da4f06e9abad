namespace LoraGen.Optim;

/// <summary>The base of the optimizers: parameter groups, <see cref="Step"/> and <see cref="ZeroGrad"/>.</summary>
public abstract class Optimizer
{
    /// <summary>Creates the optimizer over the given groups.</summary>
    protected Optimizer(IEnumerable<ParamGroup> groups)
    {
        Groups = groups.ToList();
        if (Groups.Count == 0 || Groups.All(g => g.Params.Count == 0))
            throw new ArgumentException("The optimizer got an empty parameter list.");
    }

    /// <summary>The parameter groups.</summary>
    public IReadOnlyList<ParamGroup> Groups { get; }

    /// <summary>The bytes of state the optimizer holds now (moments, momentum buffers); created at the first step.</summary>
    public virtual long StateBytes => 0;

    /// <summary>Updates every parameter that has a gradient.</summary>
    public abstract void Step();

    /// <summary>
    /// Throws <see cref="InvalidOperationException"/> before anything changes when a parameter may not be stepped now
    /// (a LoRA adapter and its base weight while merged: stepping them would make Unmerge leave W changed).
    /// </summary>
    protected void CheckSteppable()
    {
        foreach (var group in Groups)
            foreach (var p in group.Params)
                if (p.StepLock is { } reason) throw new InvalidOperationException($"Cannot step: {reason}");
    }

    /// <summary>Clears the gradients of every parameter.</summary>
    public void ZeroGrad()
    {
        foreach (var g in Groups)
            foreach (var p in g.Params) p.Grad = null;
    }
}
