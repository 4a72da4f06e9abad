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
        /// stay private, copy-on-write; valid until the file is disposed), else a converted copy.
        /// </summary>
        public Tensor GetTensor(string key)
        {
            var info = file.Info(key);
            return Tensor.FromMemory(file.GetFloatMemory(key), info.IntShape);
        }

        /// <summary>The tensor <paramref name="key"/> as a float32 copy (F16, BF16 and other numeric types converted) that outlives the file.</summary>
        public Tensor LoadTensor(string key)
        {
            var info = file.Info(key);
            var t = Tensor.Empty(info.IntShape);
            file.ReadInto(key, t.Data);
            return t;
        }
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
