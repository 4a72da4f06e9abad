using System.Buffers;
using System.Runtime.InteropServices;

namespace LoraGen.Kernels;

/// <summary>
/// The fp32 face of a weight kept in a low-precision format (<see cref="ILowPrecisionWeight"/>): a
/// <see cref="Memory{T}"/> whose span is the dequantized matrix. Nothing fp32 is held until someone asks for the
/// span; the first request dequantizes the whole matrix into an array (<see cref="IsMaterialized"/>), and later
/// requests see that same array, so reads and writes behave as on an ordinary fp32 weight. The owner drops the
/// array again (<see cref="Release"/>), re-quantizing it first when it was written to.
/// </summary>
/// <remarks>
/// The GEMM never goes through this view: it widens the low-precision weight tile by tile. The view is for the
/// rare whole-weight readers and writers (state dicts, merges, DoRA's weight norm, residual initialisations).
/// </remarks>
public sealed class LowPrecisionStorage : MemoryManager<float>
{
    private readonly Lock _gate = new();
    private float[]? _materialized;
    private GCHandle _pin;
    private int _pins;

    /// <summary>Wraps <paramref name="weight"/>.</summary>
    public LowPrecisionStorage(ILowPrecisionWeight weight)
    {
        Weight = weight ?? throw new ArgumentNullException(nameof(weight));
        Length = checked(weight.Rows * weight.Cols);
    }

    /// <summary>The low-precision weight this view dequantizes.</summary>
    public ILowPrecisionWeight Weight { get; }

    /// <summary>
    /// The view as a <see cref="Memory{T}"/> of Rows × Cols floats, made without materializing anything (use this, not
    /// <see cref="MemoryManager{T}.Memory"/>, which asks for the span to learn the length).
    /// </summary>
    public Memory<float> View => CreateMemory(Length);

    /// <summary>Rows × Cols.</summary>
    public int Length { get; }

    /// <summary>Whether a dequantized fp32 array is held now (someone asked for the span since the last <see cref="Release"/>).</summary>
    public bool IsMaterialized => _materialized is not null;

    /// <summary>The bytes this storage holds: the low-precision bytes, plus the fp32 array while materialized.</summary>
    public long Bytes => Weight.StorageBytes + (_materialized is null ? 0 : 4L * Length);

    /// <inheritdoc />
    public override Span<float> GetSpan() => Materialize();

    private float[] Materialize()
    {
        var m = _materialized;
        if (m is not null) return m;
        lock (_gate)
        {
            if (_materialized is null)
            {
                var a = GC.AllocateUninitializedArray<float>(Length);
                Dequantize(Weight, a);
                _materialized = a;
            }
            return _materialized;
        }
    }

    /// <summary>Whether the materialized array differs from the low-precision weight's values (it was written to).</summary>
    public bool IsModified()
    {
        var m = _materialized;
        if (m is null) return false;
        var row = GC.AllocateUninitializedArray<float>(Weight.Cols);
        for (int r = 0; r < Weight.Rows; r++)
        {
            Weight.WidenRow(r, 0, row);
            if (!row.AsSpan().SequenceEqual(m.AsSpan(r * Weight.Cols, Weight.Cols))) return true;
        }
        return false;
    }

    /// <summary>
    /// Drops the materialized array and returns it (null when none was held). The caller re-quantizes it when it was
    /// modified. Refused while the memory is pinned.
    /// </summary>
    public float[]? Release()
    {
        lock (_gate)
        {
            if (_pins > 0) throw new InvalidOperationException("The dequantized weight is pinned; it cannot be released now.");
            var m = _materialized;
            _materialized = null;
            return m;
        }
    }

    /// <summary>Writes the whole dequantized matrix of <paramref name="weight"/> into <paramref name="dst"/> (row by row).</summary>
    public static void Dequantize(ILowPrecisionWeight weight, Span<float> dst)
    {
        if (dst.Length != weight.Rows * weight.Cols) throw new ArgumentException($"Dequantize: {weight.Rows}×{weight.Cols} weight, destination has {dst.Length} values.");
        for (int r = 0; r < weight.Rows; r++) weight.WidenRow(r, 0, dst.Slice(r * weight.Cols, weight.Cols));
    }

    /// <inheritdoc />
    public override unsafe MemoryHandle Pin(int elementIndex = 0)
    {
        var m = Materialize();
        lock (_gate)
        {
            if (_pins++ == 0) _pin = GCHandle.Alloc(m, GCHandleType.Pinned);
            return new MemoryHandle((float*)_pin.AddrOfPinnedObject() + elementIndex, default, this);
        }
    }

    /// <inheritdoc />
    public override void Unpin()
    {
        lock (_gate)
        {
            if (--_pins == 0) _pin.Free();
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
    }
}
