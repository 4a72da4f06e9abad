using LoraGen.Tensors;

namespace LoraGen.Optim;

/// <summary>Gradient clipping by global norm (torch.nn.utils.clip_grad_norm_).</summary>
public static class GradClip
{
    /// <summary>
    /// Scales every gradient by maxNorm / (‖g‖₂ + 1e-6) when the global L2 norm exceeds <paramref name="maxNorm"/>.
    /// Returns the norm before clipping.
    /// </summary>
    public static float ClipGradNorm(IEnumerable<Tensor> parameters, float maxNorm)
    {
        var withGrad = parameters.Where(p => p.Grad is not null).ToList();
        double sq = 0;
        foreach (var p in withGrad)
        {
            var g = p.Grad!.Data;
            double s = 0;
            for (int i = 0; i < g.Length; i++) s += (double)g[i] * g[i];
            sq += s;
        }
        float norm = (float)Math.Sqrt(sq);
        float coef = maxNorm / (norm + 1e-6f);
        if (coef < 1f)
            foreach (var p in withGrad) System.Numerics.Tensors.TensorPrimitives.Multiply(p.Grad!.Data, coef, p.Grad.Data);
        return norm;
    }
}
