using Xunit;

namespace LoraGen.Package.Tests;

/// <summary>
/// The packed LoraGen.TorchSharp package: its contents and dependencies, then a fresh TorchSharp project that
/// references it (and libtorch's CPU native package) builds, and runs Attach, a forward pass and Save.
/// </summary>
public sealed class TorchSharpPackageTests(TorchSharpConsumerProject consumer) : IClassFixture<TorchSharpConsumerProject>
{
    private string Nupkg => consumer.Package.NupkgOf("LoraGen.TorchSharp");

    [Fact]
    public void PackageHoldsTheBackendWithDocsAndTheCompatibilityStep()
    {
        var entries = consumer.Package.Entries(Nupkg);
        Assert.Contains("lib/net10.0/LoraGen.TorchSharp.dll", entries);
        Assert.Contains("lib/net10.0/LoraGen.TorchSharp.xml", entries);
        Assert.Contains("build/LoraGen.TorchSharp.targets", entries);
        Assert.Contains("build/LibTorchSharpCompat.targets", entries);
        Assert.Contains("build/LibTorchSharpCompat/MarkGlibcxxNeedWeak.cs", entries);
        // Abstractions, Peft and the generator/analyzers come once, through the LoraGen package.
        Assert.DoesNotContain(entries, e => e.StartsWith("analyzers/", StringComparison.Ordinal));
        Assert.DoesNotContain("lib/net10.0/LoraGen.Peft.dll", entries);
    }

    [Fact]
    public void PackageDependsOnLoraGenAndTorchSharpOnlyNoNativePackage()
    {
        var nuspec = consumer.Package.ReadEntry("LoraGen.TorchSharp.nuspec", Nupkg);
        Assert.Contains($"<dependency id=\"LoraGen\" version=\"{consumer.Package.Version}\"", nuspec);
        Assert.Contains("<dependency id=\"TorchSharp\" version=\"0.107.0\"", nuspec);
        Assert.Equal(2, nuspec.Split("<dependency ").Length - 1);
        Assert.DoesNotContain("<dependency id=\"libtorch", nuspec);
    }

    [Fact]
    public void ConsumerBuildsAndRunsAttachForwardAndSave()
    {
        Assert.True(consumer.BuildCode == 0, consumer.BuildOutput);
        Assert.True(consumer.RunCode == 0, consumer.RunOutput);
        // fc1 only: r 4 × (8 + 16) = 96 trainable parameters; B = 0, so Attach leaves the output as it was.
        Assert.Contains("trainable params: 96 ||", consumer.RunOutput);
        Assert.Contains("output [4, 3], max |change| after Attach 0", consumer.RunOutput);
        Assert.Contains("saved: adapter_config.json, adapter_model.safetensors", consumer.RunOutput);
    }
}
