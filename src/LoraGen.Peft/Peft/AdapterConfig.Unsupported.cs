using System.Text.Json;
using LoraGen.Contract;

namespace LoraGen.Peft;

// The LoraConfig fields LoraGen keeps (OtherFields) but does not act on: a file that sets one to anything but its
// default changes what PEFT computes, so loaders refuse it, naming the field, instead of computing something else.
public sealed partial record AdapterConfig
{
    /// <summary>
    /// The fields that change PEFT's forward pass or key layout, with the value that means "not used": any other value
    /// is refused by <see cref="FieldsNotHonoured"/>. Fields that only steer initialization (<c>loftq_config</c>,
    /// <c>eva_config</c>, <c>corda_config</c>, <c>lora_ga_config</c>) or distributed training (<c>megatron_config</c>,
    /// <c>megatron_core</c>) do not change a trained adapter's outputs and are carried through unchanged.
    /// </summary>
    private static readonly (string Field, string What)[] s_notHonoured =
    [
        (ConfigFields.LayerReplication, "layer replication (the base model's layers are stacked again)"),
        (ConfigFields.LoraBiasField, "a LoRA bias on B"),
        (ConfigFields.TargetParameters, "LoRA on raw parameters (MoE experts)"),
        (ConfigFields.UseQalora, "QALoRA (pooled inputs on quantized layers)"),
        (ConfigFields.UseBdlora, "block-diagonal LoRA"),
        (ConfigFields.AloraInvocationTokens, "activated LoRA (invocation tokens)"),
        (ConfigFields.ArrowConfig, "Arrow routing between adapters"),
        (ConfigFields.MontecloraConfig, "MonteCLoRA"),
        (ConfigFields.VeloraConfig, "VeLoRA"),
    ];

    /// <summary>
    /// Each field of this config that LoraGen does not act on and that is set to a value that changes PEFT's result
    /// (<c>"lora_bias": true</c>, a <c>"layer_replication"</c> list, …), as "FIELD (what it is)"; empty when none.
    /// Loaders refuse such a file, naming these fields.
    /// </summary>
    public IReadOnlyList<string> FieldsNotHonoured()
    {
        var result = new List<string>();
        foreach (var (field, what) in s_notHonoured)
            if (OtherFields.TryGetValue(field, out var e) && IsUsed(e)) result.Add($"\"{field}\" ({what})");
        return result;
    }

    /// <summary>Python truthiness: null, false, 0, "", [] and {} mean "not used".</summary>
    private static bool IsUsed(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.False or JsonValueKind.Undefined => false,
        JsonValueKind.Number => e.GetRawText() is not ("0" or "0.0"),
        JsonValueKind.String => e.GetString()!.Length > 0,
        JsonValueKind.Array => e.GetArrayLength() > 0,
        JsonValueKind.Object => e.EnumerateObject().Any(),
        _ => true,
    };
}
