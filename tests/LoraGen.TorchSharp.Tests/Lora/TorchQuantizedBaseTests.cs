using LoraGen.Autograd;
using LoraGen.Kernels;
using LoraGen.Lora;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Torch;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using ManagedTensor = LoraGen.Tensors.Tensor;

namespace LoraGen.TorchSharp.Tests.Lora;

/// <summary>
/// QLoRA's low-precision base on the TorchSharp backend against the managed backend's: the same NF4 bytes (the PEFT
/// unit's quantizer), the same dequantized values, forward and gradients ≤ 1e-5 / 1e-4; BF16 likewise; merge into the
/// dequantized copy exact and undone to the same bytes; MergeAndUnload re-quantizes and says so.
/// </summary>
[Collection(TorchGlobalRng.Name)]
public sealed class TorchQuantizedBaseTests : TwinBackendTests
{
    public TorchQuantizedBaseTests() : base("loragen-torch-qlora-", 31337) { }

    /// <summary>The same trained LoRA adapter on both (B random on the managed side, through a file).</summary>
    private (ManagedPair Managed, TorchPair Net, TorchLoraModelController Lora) TrainedTwins()
    {
        var (managed, net, lora) = Twins();
        managed.Lora.Attach(seed: 3);
        var rng = new LoraGen.Tensors.Rng(17);
        foreach (var p in managed.Lora.Parameters())
            if (p.Dim(1) <= 4) foreach (ref var v in p.Data) v = (float)(rng.NextNormal() * 0.3);
        managed.Lora.Save(Path.Combine(TempDir, "adapter"));
        lora.Load(Path.Combine(TempDir, "adapter"));
        return (managed, net, lora);
    }

    [Theory]
    [InlineData(LoraBaseQuantization.Nf4)]
    [InlineData(LoraBaseQuantization.Bf16)]
    public void Low_precision_base_is_the_managed_backends_values_forward_and_gradients(LoraBaseQuantization format)
    {
        var (managed, net, lora) = TrainedTwins();
        var fp32 = TorchOut(net);
        Assert.True(MaxDiff(ManagedOut(managed), fp32) <= 1e-5);
        Assert.Equal(3, managed.Lora.Quantize(format == LoraBaseQuantization.Nf4 ? BaseFormat.NF4 : BaseFormat.BF16));
        Assert.Equal(3, lora.Quantize(format));   // q_proj, k_proj, v_proj: every frozen Linear
        Assert.Equal(format, lora.BaseQuantizationOf("k_proj"));

        var q = lora.QuantizedBases.Single(b => b.Path == "q_proj");
        Assert.Equal(managed.q_proj.BaseWeightBytes, q.StorageBytes);   // NF4: 60 codes bytes + 2 absmax + 1 scale + offset
        Assert.Equal([10L, 12L], net.q_proj.weight!.shape);
        using (var deq = q.Dequantize()) Assert.Equal(managed.q_proj.Weight.Data.ToArray(), Floats(deq));   // bit for bit

        var expected = ManagedOut(managed);
        Assert.True(MaxDiff(expected, fp32) > 1e-4);   // the low-precision base changes the output
        Assert.True(MaxDiff(expected, TorchOut(net)) <= 1e-5, $"{MaxDiff(expected, TorchOut(net))}");

        // Gradients reach A and B through the per-forward dequantized weight, as on the managed backend; W gets none.
        var mx = managed.Forward(ManagedTensor.FromArray(Input, 3, 12));
        (mx * mx).Sum().Backward();
        var mgrads = managed.Lora.Parameters().Select(p => p.Grad!.ToArray()).ToList();
        using (var x = torch.tensor(Input, [3, 12]))
        using (var y = net.call(x))
        using (var loss = y.square().sum())
            loss.backward();
        var tgrads = lora.Parameters().Select(p => Floats(p.grad!)).ToList();
        Assert.Equal(mgrads.Count, tgrads.Count);
        for (int i = 0; i < mgrads.Count; i++)
        {
            double scale = Math.Max(1, mgrads[i].Max(Math.Abs));
            Assert.True(MaxDiff(mgrads[i], tgrads[i]) <= 1e-4 * scale, $"gradient {i}: {MaxDiff(mgrads[i], tgrads[i])}");
        }
        Assert.Null(net.q_proj.weight!.grad);
    }

    [Fact]
    public void Merge_into_the_dequantized_copy_is_exact_unmerge_keeps_the_bytes_and_merge_and_unload_requantizes()
    {
        var (_, net, lora) = TrainedTwins();
        lora.Quantize(LoraBaseQuantization.Nf4);
        var unmerged = TorchOut(net);
        float[] deq;
        using (var d = lora.QuantizedBases.Single(b => b.Path == "q_proj").Dequantize()) deq = Floats(d);
        lora.Merge();
        Assert.True(lora.IsMerged);
        Assert.True(MaxDiff(unmerged, TorchOut(net)) <= 1e-5);
        Assert.Throws<InvalidOperationException>(() => lora.Quantize(LoraBaseQuantization.Bf16));
        lora.Unmerge();
        Assert.All(lora.QuantizedBases, b => Assert.False(b.IsMaterialized));
        using (var d = lora.QuantizedBases.Single(b => b.Path == "q_proj").Dequantize()) Assert.Equal(deq, Floats(d));   // the same NF4 bytes
        Assert.True(MaxDiff(unmerged, TorchOut(net)) <= 1e-6);   // (libtorch may order the GEMM sums differently from call to call)

        lora.MergeAndUnload();
        Assert.Equal(["q_proj", "v_proj"], lora.RequantizedLayers);   // k_proj had no adapter: its bytes are unchanged
        Assert.True(MaxDiff(unmerged, TorchOut(net)) <= 0.5);          // W + ΔW rounded to NF4 again: close, not exact
        Assert.Equal(0, lora.Quantize(LoraBaseQuantization.None) - 3);
        Assert.Equal(LoraBaseQuantization.None, lora.BaseQuantizationOf("q_proj"));
    }

    [Fact]
    public void Compile_time_base_quantization_applies_at_attach_and_dequantizing_back_keeps_the_values()
    {
        var (_, net, lora) = Twins(TorchLoraModelOptions.FromFieldsOnly with { BaseQuantization = LoraBaseQuantization.Nf4 });
        lora.Attach(config: new TorchLoraOverride { UseDora = true });   // DoRA's norm is taken from the fp32 W before quantizing
        Assert.Equal(LoraBaseQuantization.Nf4, lora.BaseQuantizationOf("q_proj"));
        var nf4 = TorchOut(net);
        float[] deq;
        using (var d = lora.QuantizedBases.Single(b => b.Path == "k_proj").Dequantize()) deq = Floats(d);
        Assert.Equal(3, lora.Quantize(LoraBaseQuantization.None));
        Assert.Empty(lora.QuantizedBases);
        Assert.Equal(deq, Floats(net.k_proj.weight!));
        Assert.True(MaxDiff(nf4, TorchOut(net)) <= 1e-6);
    }
    private const string Int8Refusal = "the TorchSharp backend keeps NF4 and BF16 bases only (LoraBaseQuantization.Nf4, LoraBaseQuantization.Bf16), not Int8; " +
        "the managed backend (LoraGen.Runtime) has Int8. Nothing was changed.";

    [Fact]
    public void Quantize_int8_is_refused_naming_the_layer_and_the_nf4_base_stays()
    {
        var (_, net, lora) = TrainedTwins();
        var fp32 = TorchOut(net);
        var w = Floats(net.q_proj.weight!);
        var e = Assert.Throws<NotSupportedException>(() => lora.Quantize(LoraBaseQuantization.Int8));
        Assert.Equal("q_proj: Quantize(Int8): " + Int8Refusal, e.Message);
        Assert.Empty(lora.QuantizedBases);
        Assert.Equal(w, Floats(net.q_proj.weight!));   // bit for bit
        Assert.True(MaxDiff(fp32, TorchOut(net)) <= 1e-6);   // (libtorch may order the GEMM sums differently from call to call)

        Assert.Equal(3, lora.Quantize(LoraBaseQuantization.Nf4));
        var nf4 = TorchOut(net);
        float[] deq;
        using (var d = lora.QuantizedBases.Single(b => b.Path == "v_proj").Dequantize()) deq = Floats(d);
        Assert.Throws<NotSupportedException>(() => lora.Quantize(LoraBaseQuantization.Int8));
        Assert.Equal(3, lora.QuantizedBases.Count);   // no layer dropped to fp32 or half converted
        Assert.All(lora.QuantizedBases, b => Assert.Equal(LoraBaseQuantization.Nf4, b.Format));
        using (var d = lora.QuantizedBases.Single(b => b.Path == "v_proj").Dequantize()) Assert.Equal(deq, Floats(d));
        Assert.True(MaxDiff(nf4, TorchOut(net)) <= 1e-6);
    }

    [Fact]
    public void Compile_time_int8_is_refused_at_attach_before_anything_changes()
    {
        var (_, net, lora) = Twins(TorchLoraModelOptions.FromFieldsOnly with { BaseQuantization = LoraBaseQuantization.Int8 });
        var before = TorchOut(net);
        var w = Floats(net.q_proj.weight!);
        var e = Assert.Throws<NotSupportedException>(() => lora.Attach());
        Assert.Equal("q_proj: [LoraModel(BaseQuantization = LoraBaseQuantization.Int8)]: " + Int8Refusal, e.Message);
        Assert.Empty(lora.Names);
        Assert.Empty(lora.QuantizedBases);
        Assert.True(net.q_proj.weight!.requires_grad);   // not even frozen
        Assert.Equal(w, Floats(net.q_proj.weight!));
        Assert.True(MaxDiff(before, TorchOut(net)) <= 1e-6);
    }

    [Fact]
    public void Only_nf4_and_bf16_are_kept_so_a_new_format_is_refused_not_taken_for_nf4()
    {
        Assert.Equal([LoraBaseQuantization.Bf16, LoraBaseQuantization.Nf4],
            Enum.GetValues<LoraBaseQuantization>().Where(TorchQuantizedBase.Keeps).Order());
        Assert.False(TorchQuantizedBase.Keeps((LoraBaseQuantization)99));
        var (_, _, lora) = Twins(TorchLoraModelOptions.FromFieldsOnly with { BaseQuantization = (LoraBaseQuantization)99 });
        Assert.Throws<NotSupportedException>(() => lora.Attach());
        Assert.Empty(lora.Names);
    }
}
