using LoraGen.Autograd;
using LoraGen.Ops;
using LoraGen.Tensors;

namespace LoraGen.Optim;

/// <summary>A set of parameters sharing a learning rate and weight decay (LoRA+ gives B its own group).</summary>
public sealed class ParamGroup
{
    /// <summary>Creates a group.</summary>
    public ParamGroup(IEnumerable<Tensor> parameters, float lr, float weightDecay = 0f, string? name = null)
    {
        Params = parameters.ToList();
        Lr = lr;
        InitialLr = lr;
        WeightDecay = weightDecay;
        Name = name;
    }

    /// <summary>The parameters.</summary>
    public IReadOnlyList<Tensor> Params { get; }

    /// <summary>The current learning rate (a schedule changes it).</summary>
    public float Lr { get; set; }

    /// <summary>The learning rate the group was created with; schedules scale this.</summary>
    public float InitialLr { get; }

    /// <summary>Weight decay (decoupled for AdamW, L2 for SGD).</summary>
    public float WeightDecay { get; set; }

    /// <summary>An optional label.</summary>
    public string? Name { get; }
}

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

    /// <summary>Updates every parameter that has a gradient.</summary>
    public abstract void Step();

    /// <summary>Clears the gradients of every parameter.</summary>
    public void ZeroGrad()
    {
        foreach (var g in Groups)
            foreach (var p in g.Params) p.Grad = null;
    }
}
