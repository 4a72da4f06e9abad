using System.Text;
using LoraGen.Nn;
using LoraGen.SafeTensors;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests.Hardening;

/// <summary>Issue 17 item 3, runtime side: valid tensors a runtime tensor cannot hold are typed errors naming them.</summary>
public class UnreadableTensorTests
{
    private static SafetensorsFile Image(string header, int dataBytes)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var image = new byte[8 + h.Length + dataBytes];
        BitConverter.GetBytes((ulong)h.Length).CopyTo(image, 0);
        h.CopyTo(image, 8);
        return SafetensorsFile.FromBytes(image, "image");
    }

    [Fact]
    public void Rank5IsATypedErrorNamingTheTensor()
    {
        using var f = Image("""{"five":{"dtype":"F32","shape":[1,1,1,1,1],"data_offsets":[0,4]}}""", 4);
        var ex = Assert.Throws<SafetensorsException>(() => f.LoadTensor("five"));
        Assert.Equal(SafetensorsRule.TensorUnreadable, ex.Rule);
        Assert.Equal("five", ex.Key);
        Assert.Equal(SafetensorsRule.TensorUnreadable, Assert.Throws<SafetensorsException>(() => f.GetTensor("five")).Rule);
    }

    [Fact]
    public void AHugeZeroSizeDimensionIsATypedErrorAndDoesNotBreakANonStrictLoad()
    {
        using var f = Image("""{"empty":{"dtype":"F32","shape":[0,3000000000],"data_offsets":[0,0]},"weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"bias":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}}""", 32);
        var ex = Assert.Throws<SafetensorsException>(() => f.LoadTensor("empty"));
        Assert.Equal(SafetensorsRule.TensorUnreadable, ex.Rule);
        Assert.Equal("empty", ex.Key);
        var layer = new Linear(3, 2);
        var report = layer.LoadWeights(f, strict: false, keyPrefix: "");
        Assert.Equal(["empty"], report.Unexpected);
        Assert.All(layer.Weight.ToArray(), v => Assert.Equal(0f, v));
    }
}
