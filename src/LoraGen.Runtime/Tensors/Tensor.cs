using System.Runtime.CompilerServices;
using System.Text;

namespace LoraGen.Tensors;

/// <summary>
/// A dense, row-major float32 tensor of rank 0 to 4 with contiguous storage.
/// Tensors produced by operations on tensors that require gradients remember how they were made
/// (<see cref="GradFn"/>), so <c>LoraGen.Autograd.Backprop.Backward</c> can compute gradients by reverse-mode autodiff.
/// </summary>
/// <remarks>
/// Storage is a <see cref="Memory{T}"/> of float: a managed array for ordinary tensors, an array recycled by the
/// runtime's activation pool for the large tensors that ops create (it is
/// reused only once no tensor or <see cref="Memory{T}"/> over it is reachable), or a memory-mapped region for
/// zero-copy safetensors reads. <c>LoraGen.Ops.ShapeOps.Reshape</c> returns a view that shares storage; transposes
/// and permutes copy explicitly. A <see cref="Span{T}"/> from <see cref="Data"/> does not keep the storage leased: use
/// it while the tensor is still referenced.
/// </remarks>
public sealed class Tensor
{
    /// <summary>The largest rank a tensor may have.</summary>
    public const int MaxRank = 4;

    private Memory<float> _storage;
    internal readonly int[] shape;

    /// <summary>Creates a tensor over existing storage. The storage must hold at least the product of <paramref name="shape"/> floats.</summary>
    internal Tensor(Memory<float> storage, int[] shape)
    {
        if (shape.Length > MaxRank)
            throw new ArgumentException($"Tensor rank {shape.Length} is above the supported maximum {MaxRank} (shape {Format(shape)}).", nameof(shape));
        long size = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"Negative dimension in shape {Format(shape)}.", nameof(shape));
            size *= d;
        }
        if (size > int.MaxValue) throw new ArgumentException($"Shape {Format(shape)} has more than int.MaxValue elements.", nameof(shape));
        if (storage.Length < size)
            throw new ArgumentException($"Storage of {storage.Length} floats is too small for shape {Format(shape)} ({size} elements).", nameof(storage));
        _storage = storage.Slice(0, (int)size);
        this.shape = shape;
        Size = (int)size;
    }

    /// <summary>
    /// Points this tensor at other storage of at least <see cref="Size"/> floats, keeping its identity (the layers,
    /// adapters and state dicts that hold it see the new storage). Used by a layer that keeps its frozen weight in a
    /// low-precision format: the fp32 array is released and the storage becomes a dequantizing view.
    /// </summary>
    internal void ReplaceStorage(Memory<float> storage)
    {
        if (storage.Length < Size)
            throw new ArgumentException($"Storage of {storage.Length} floats is too small for shape {Format(shape)} ({Size} elements).", nameof(storage));
        _storage = storage.Slice(0, Size);
    }

    /// <summary>
    /// Why an optimizer must not step this parameter now (e.g. it is folded into a merged weight), or null. Set by the
    /// layers that own the parameter; optimizers refuse to step while any of theirs has one.
    /// </summary>
    internal string? StepLock { get; set; }

    /// <summary>The dimensions of the tensor, outermost first.</summary>
    public ReadOnlySpan<int> Shape => shape;

    /// <summary>The number of dimensions.</summary>
    public int Rank => shape.Length;

    /// <summary>The number of elements.</summary>
    public int Size { get; }

    /// <summary>The size of dimension <paramref name="dim"/>; negative values count from the end.</summary>
    public int Dim(int dim) => shape[NormalizeDim(dim, Rank, "Dim")];

    /// <summary>The elements, row-major. Writing through this span bypasses autograd.</summary>
    public Span<float> Data
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _storage.Span;
    }

    /// <summary>The underlying storage (shared by reshape views).</summary>
    public Memory<float> Storage => _storage;

    /// <summary>
    /// Whether gradients flow into this tensor. Parameters set it; results of operations on such
    /// tensors get it automatically while autograd is enabled.
    /// </summary>
    public bool RequiresGrad
    {
        get => _vertex?.RequiresGrad ?? false;
        set { if (value || _vertex is not null) Vertex.RequiresGrad = value; }
    }

    /// <summary>The accumulated gradient, same shape as the tensor, or null before any backward pass.</summary>
    public Tensor? Grad
    {
        get => _vertex?.Grad;
        set { if (value is not null || _vertex is not null) Vertex.Grad = value; }
    }

    /// <summary>The operation that produced this tensor, or null for a leaf.</summary>
    public GradNode? GradFn
    {
        get => _vertex?.GradFn;
        internal set { if (value is not null || _vertex is not null) Vertex.GradFn = value; }
    }

    private GradVertex? _vertex;

    /// <summary>
    /// This tensor's place in the autograd graph (requires-grad flag, producing node, gradient) without its values:
    /// what graph nodes and backward functions hold when they only route a gradient (see <see cref="GradVertex"/>).
    /// </summary>
    internal GradVertex Vertex => _vertex ?? Interlocked.CompareExchange(ref _vertex, new GradVertex(shape, Size), null) ?? _vertex!;

    /// <summary>True for tensors created by the user rather than by a recorded operation.</summary>
    public bool IsLeaf => GradFn is null;

    /// <summary>A human-readable shape such as <c>[16, 128, 256]</c>.</summary>
    public string ShapeString => Format(shape);

    // ---------------------------------------------------------------- creation

    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(params int[] shape)
    {
        int size = Product(shape);
        return new(size >= ActivationPool.MinLength ? AlignedStorage.Zeroed(size) : new float[size], (int[])shape.Clone());
    }

    /// <summary>A tensor whose contents are not initialized (fast; the caller overwrites every element).</summary>
    public static Tensor Empty(params int[] shape)
    {
        int size = Product(shape);
        return new(size >= ActivationPool.MinLength ? AlignedStorage.Uninitialized(size) : GC.AllocateUninitializedArray<float>(size), (int[])shape.Clone());
    }

    /// <summary>
    /// An op's output or scratch tensor, not initialized: large ones get storage recycled by
    /// <see cref="ActivationPool"/> (reused once no tensor or memory over it is reachable). Keep the tensor referenced
    /// while using its <see cref="Data"/>.
    /// </summary>
    internal static Tensor Output(params int[] shape)
    {
        int size = Product(shape);
        return new(ActivationPool.Rent(size) ?? GC.AllocateUninitializedArray<float>(size), (int[])shape.Clone());
    }

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(float value, params int[] shape)
    {
        var t = Empty(shape);
        t.Data.Fill(value);
        return t;
    }

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(params int[] shape) => Full(1f, shape);

    /// <summary>A rank-0 tensor holding <paramref name="value"/>.</summary>
    public static Tensor Scalar(float value) => new(new[] { value }, Array.Empty<int>());

    /// <summary>Wraps <paramref name="data"/> (no copy) as a tensor of the given shape.</summary>
    public static Tensor FromArray(float[] data, params int[] shape)
    {
        if (data.Length != Product(shape))
            throw new ArgumentException($"FromArray: {data.Length} values do not fill shape {Format(shape)} ({Product(shape)} elements).");
        return new Tensor(data, (int[])shape.Clone());
    }

    /// <summary>Wraps existing storage (no copy), e.g. a memory-mapped safetensors region.</summary>
    public static Tensor FromMemory(Memory<float> storage, params int[] shape) => new(storage, (int[])shape.Clone());

    /// <summary>Standard normal samples scaled by <paramref name="std"/>.</summary>
    public static Tensor Randn(Rng rng, float std, params int[] shape)
    {
        var t = Empty(shape);
        rng.FillNormal(t.Data, 0f, std);
        return t;
    }

    /// <summary>Uniform samples in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public static Tensor Uniform(Rng rng, float low, float high, params int[] shape)
    {
        var t = Empty(shape);
        rng.FillUniform(t.Data, low, high);
        return t;
    }

    // ---------------------------------------------------------------- data access

    /// <summary>The single value of a one-element tensor.</summary>
    public float Item()
    {
        if (Size != 1) throw new InvalidOperationException($"Item() needs a one-element tensor; this one has shape {ShapeString}.");
        return Data[0];
    }

    /// <summary>A copy of the elements.</summary>
    public float[] ToArray() => Data.ToArray();

    /// <summary>A new tensor with a copy of the data, not connected to the autograd graph.</summary>
    public Tensor Clone()
    {
        var t = Empty(shape);
        Data.CopyTo(t.Data);
        return t;
    }

    /// <summary>A tensor sharing this storage but not connected to the autograd graph.</summary>
    public Tensor Detach() => new(_storage, shape);

    /// <summary>Copies <paramref name="source"/>'s elements into this tensor; the shapes must be equal.</summary>
    public void CopyFrom(Tensor source)
    {
        ShapeMismatchException.ThrowIfNotEqual("CopyFrom", this, source);
        source.Data.CopyTo(Data);
    }

    /// <summary>Sets <see cref="Grad"/> to null.</summary>
    public void ZeroGrad() => Grad = null;

    /// <summary>See <see cref="GradVertex.GradBuffer"/>.</summary>
    internal Tensor GradBuffer(out bool fresh) => Vertex.GradBuffer(out fresh);

    /// <summary>See <see cref="GradVertex.AccumulateGrad"/>.</summary>
    internal void AccumulateGrad(Tensor g, bool take) => Vertex.AccumulateGrad(g, take);

    /// <summary>See <see cref="GradVertex.GradZeroed"/>.</summary>
    internal Span<float> GradZeroed() => Vertex.GradZeroed();

    /// <summary>
    /// Whether this tensor's storage was rented from <see cref="GradPool"/> as a gradient buffer, so the backward pass
    /// may hand it back once it is done with it.
    /// </summary>
    internal bool IsPooledGradient { get; private init; }

    /// <summary>An uninitialized gradient buffer of this tensor's shape, from <see cref="GradPool"/> when it serves the size.</summary>
    internal Tensor RentGradient() => RentGradient(shape, Size);

    /// <summary>An uninitialized gradient buffer of <paramref name="shape"/> (<paramref name="size"/> elements), pooled when the pool serves the size.</summary>
    internal static Tensor RentGradient(int[] shape, int size) =>
        GradPool.Rent(size) is { } array ? new Tensor(array, shape) { IsPooledGradient = true } : Empty(shape);

    /// <summary><paramref name="g"/>'s storage viewed in <paramref name="shape"/>, keeping its pooled mark (a gradient hand-off).</summary>
    internal static Tensor PooledView(Tensor g, int[] shape) => new(g._storage, shape) { IsPooledGradient = g.IsPooledGradient };

    /// <summary>A short description: shape and the first few values.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder("Tensor").Append(ShapeString).Append(" [");
        var d = Data;
        for (int i = 0; i < Math.Min(d.Length, 6); i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(d[i].ToString("G6", System.Globalization.CultureInfo.InvariantCulture));
        }
        if (d.Length > 6) sb.Append(", ...");
        return sb.Append(']').ToString();
    }

    // ---------------------------------------------------------------- shape helpers

    internal static int Product(ReadOnlySpan<int> shape)
    {
        long p = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"Negative dimension in shape {Format(shape)}.");
            p *= d;
        }
        if (p > int.MaxValue) throw new ArgumentException($"Shape {Format(shape)} has more than int.MaxValue elements.");
        return (int)p;
    }

    internal static string Format(ReadOnlySpan<int> shape)
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < shape.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(shape[i]);
        }
        return sb.Append(']').ToString();
    }

    internal static int NormalizeDim(int dim, int rank, string op)
    {
        int d = dim < 0 ? dim + rank : dim;
        if (d < 0 || d >= rank) throw new ArgumentOutOfRangeException(nameof(dim), $"{op}: dimension {dim} is out of range for a rank-{rank} tensor.");
        return d;
    }

    /// <summary>Product of all dimensions but the last: the number of rows when the tensor is seen as a matrix.</summary>
    internal int Rows => Rank == 0 ? 1 : Size / Math.Max(1, shape[^1]);

    /// <summary>The last dimension (1 for a scalar).</summary>
    internal int Cols => Rank == 0 ? 1 : shape[^1];
}
