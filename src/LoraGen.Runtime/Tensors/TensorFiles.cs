using LoraGen.SafeTensors;

namespace LoraGen.Tensors;

/// <summary>
/// Tensors in safetensors files: the bridge between the PEFT unit's tensor-free reader/writer
/// (<see cref="SafetensorsFile"/>, <see cref="SafetensorsWriter"/>) and <see cref="Tensor"/>.
/// </summary>
public static class TensorFiles
{
    extension(SafetensorsFile file)
    {
        /// <summary>
        /// The tensor <paramref name="key"/> as a float32 view: zero-copy over the mapping for aligned F32 data (writes
        /// stay private, copy-on-write; valid until the file is disposed), else a converted copy. A view is safe only while
        /// no process truncates or rewrites the file in place (see <see cref="SafetensorsFile.GetFloatMemory"/>); use
        /// <c>LoadTensor</c>, which copies, for files you do not control.
        /// </summary>
        public Tensor GetTensor(string key)
        {
            var shape = ShapeOf(file, key);
            return Tensor.FromMemory(file.GetFloatMemory(key), shape);
        }

        /// <summary>The tensor <paramref name="key"/> as a float32 copy (F16, BF16 and other numeric types converted) that outlives the file.</summary>
        public Tensor LoadTensor(string key)
        {
            var t = Tensor.Empty(ShapeOf(file, key));
            file.ReadInto(key, t.Data);
            return t;
        }
    }

    /// <summary>The tensor's shape as a <see cref="Tensor"/> holds it, or <see cref="SafetensorsRule.TensorUnreadable"/> naming it.</summary>
    private static int[] ShapeOf(SafetensorsFile file, string key)
    {
        var info = file.Info(key);
        if (info.Shape.Length > Tensor.MaxRank)
            throw new SafetensorsException(SafetensorsRule.TensorUnreadable, file.Path, key,
                $"{info.DType} [{string.Join(", ", info.Shape)}] has rank {info.Shape.Length}; a runtime tensor has at most {Tensor.MaxRank} dimensions.");
        try { return info.IntShape; }
        catch (SafetensorsException e) { throw new SafetensorsException(e.Rule, file.Path, key, e.Message[(e.Message.LastIndexOf("): ", StringComparison.Ordinal) + 3)..]); }
    }

    /// <summary>The entry that writes <paramref name="tensor"/> under <paramref name="name"/>, converted to <paramref name="dtype"/> (F32, F16 or BF16) at write time.</summary>
    public static SafetensorsEntry ToEntry(this Tensor tensor, string name, SafetensorsDType dtype = SafetensorsDType.F32) =>
        SafetensorsEntry.FromFloats(name, tensor.Shape.ToArray(), tensor.Storage, dtype);

    /// <summary>Writes <paramref name="tensors"/> to <paramref name="path"/> atomically, in the reference layout.</summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null, SafetensorsDType dtype = SafetensorsDType.F32) =>
        SafetensorsWriter.Save(path, tensors.Select(kv => kv.Value.ToEntry(kv.Key, dtype)), metadata);

    /// <summary>The file image of <paramref name="tensors"/>, in the reference layout.</summary>
    public static byte[] Serialize(IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null, SafetensorsDType dtype = SafetensorsDType.F32) =>
        SafetensorsWriter.Serialize(tensors.Select(kv => kv.Value.ToEntry(kv.Key, dtype)), metadata);
}
