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
