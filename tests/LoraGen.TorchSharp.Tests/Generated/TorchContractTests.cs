using System.Reflection;
using LoraGen.Torch;
using TorchSharp;
using Xunit;

namespace LoraGen.TorchSharp.Tests.Generated;

/// <summary>Every TorchSharp name the generator emits against (RuntimeNames.Torch*) resolves in TorchSharp or LoraGen.TorchSharp.</summary>
public sealed class TorchContractTests
{
    [Fact]
    public void Every_TorchSharp_runtime_name_resolves()
    {
        var names = typeof(TorchLoraLayer).Assembly.GetType("LoraGen.Contract.RuntimeNames", throwOnError: true)!
            .GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.Name.StartsWith("Torch", StringComparison.Ordinal))
            .ToDictionary(f => f.Name, f => (string)f.GetRawConstantValue()!);
        Assert.True(names.Count >= 9);
        var backend = typeof(TorchLoraLayer).Assembly;
        var torchAsm = typeof(torch).Assembly;
        foreach (var (field, value) in names.Where(n => n.Value.Contains('.')))
            Assert.True(backend.GetType(value) is not null || torchAsm.GetType(value) is not null, $"RuntimeNames.{field} = {value} does not resolve");
        Assert.Equal(typeof(torch.nn.Module), torchAsm.GetType(names["TorchModule"]));
        Assert.Equal(typeof(ITorchLoraFields), backend.GetType(names["TorchLoraFields"]));
        Assert.NotNull(typeof(ITorchLoraFields).GetMethod(names["TorchLoraFieldsMember"]));
    }
}
