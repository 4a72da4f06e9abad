using System.Collections.ObjectModel;
using System.Text.Json;
using LoraGen.Contract;

namespace LoraGen.Peft;

// trainable_token_indices (PEFT's TrainableTokens inside a LoRA config): kept in OtherFields as PEFT wrote it, read
// and written here.
public sealed partial record AdapterConfig
{
    /// <summary>
    /// The key <see cref="TrainableTokenIndices"/> gives to PEFT's list form (<c>"trainable_token_indices": [5, 7]</c>),
    /// which means "the model's input embedding": the empty string.
    /// </summary>
    public const string InputEmbeddingKey = "";

    /// <summary>
    /// <c>trainable_token_indices</c>: the embedding rows trained in place of the base rows, by embedding module name
    /// (PEFT's dict form; a name matches a path that ends with it), or under <see cref="InputEmbeddingKey"/> for the
    /// list form; empty when the file has none. A malformed value throws <see cref="AdapterConfigException"/> naming
    /// the field.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<int>> TrainableTokenIndices()
    {
        var result = new OrderedDictionary<string, IReadOnlyList<int>>(StringComparer.Ordinal);
        if (!OtherFields.TryGetValue(ConfigFields.TrainableTokenIndices, out var e) || e.ValueKind == JsonValueKind.Null)
            return new ReadOnlyDictionary<string, IReadOnlyList<int>>(result);
        IReadOnlyList<int> Ints(JsonElement list, string where)
        {
            if (list.ValueKind != JsonValueKind.Array)
                throw new AdapterConfigException(null, ConfigFields.TrainableTokenIndices, $"{where}must be a list of token indices.");
            var ints = new List<int>();
            foreach (var x in list.EnumerateArray())
            {
                if (x.ValueKind != JsonValueKind.Number || !x.TryGetInt32(out var v) || v < 0)
                    throw new AdapterConfigException(null, ConfigFields.TrainableTokenIndices, $"{where}must hold non-negative integers, not {x.GetRawText()}.");
                if (ints.Contains(v))
                    throw new AdapterConfigException(null, ConfigFields.TrainableTokenIndices, $"{where}lists token {v} twice.");
                ints.Add(v);
            }
            return ints;
        }
        if (e.ValueKind == JsonValueKind.Object)
            foreach (var p in e.EnumerateObject()) result[p.Name] = Ints(p.Value, $"entry \"{p.Name}\" ");
        else
            result[InputEmbeddingKey] = Ints(e, "");
        return new ReadOnlyDictionary<string, IReadOnlyList<int>>(result);
    }

    /// <summary>
    /// This config with <c>trainable_token_indices</c> set to <paramref name="indices"/> (PEFT's dict form, module
    /// name → token indices), or removed when it is empty.
    /// </summary>
    public AdapterConfig WithTrainableTokenIndices(IReadOnlyDictionary<string, IReadOnlyList<int>> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var others = OtherFields.Where(p => p.Key != ConfigFields.TrainableTokenIndices).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        if (indices.Count > 0)
        {
            var json = PythonJson.Render(new PythonJson.Object(indices.Select(p => KeyValuePair.Create(p.Key, (object?)p.Value.ToArray()))));
            using var doc = JsonDocument.Parse(json);
            others[ConfigFields.TrainableTokenIndices] = doc.RootElement.Clone();
        }
        return this with { OtherFields = new ReadOnlyDictionary<string, JsonElement>(others) };
    }
}
