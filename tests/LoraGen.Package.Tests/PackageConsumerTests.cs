using System.Globalization;
using System.Text.RegularExpressions;
using Xunit;

namespace LoraGen.Package.Tests;

/// <summary>
/// The packed "LoraGen" package as a new user meets it: its contents and metadata, then a fresh project that
/// references it builds and runs its own model, fails the build on a non-partial child (LORA0021), and loads an
/// adapter config without <c>lora_alpha</c> with PEFT's default alpha 8.
/// </summary>
public sealed class PackageConsumerTests(ConsumerProject consumer) : IClassFixture<ConsumerProject>
{
    [Fact]
    public void PackageHoldsTheLibrariesDocsAnalyzersReadmeAndSymbols()
    {
        var entries = consumer.Package.Entries();
        foreach (var lib in new[] { "LoraGen.Runtime", "LoraGen.Peft", "LoraGen.Abstractions" })
        {
            Assert.Contains($"lib/net10.0/{lib}.dll", entries);
            Assert.Contains($"lib/net10.0/{lib}.xml", entries);
        }
        foreach (var analyzer in new[] { "LoraGen.Generators", "LoraGen.Analyzers", "LoraGen.CodeFixes" })
            Assert.Contains($"analyzers/dotnet/cs/{analyzer}.dll", entries);
        Assert.Contains("README.md", entries);
        Assert.Contains("docs/analyzers/LORA0021.md", entries);
        Assert.True(File.Exists(consumer.Package.Snupkg), "no symbols package (.snupkg) next to the .nupkg");
    }

    [Fact]
    public void NuspecCarriesLicenseProjectAndRepository()
    {
        var nuspec = consumer.Package.ReadEntry("LoraGen.nuspec");
        Assert.Contains("<license type=\"expression\">MIT</license>", nuspec);
        Assert.Matches("<projectUrl>https://[^<]+</projectUrl>", nuspec);
        Assert.Matches("<repository type=\"git\" url=\"https://[^\"]+\"", nuspec);
        Assert.Contains("<readme>README.md</readme>", nuspec);
        Assert.Contains($"<version>{consumer.Package.Version}</version>", nuspec);
    }

    [Fact]
    public void PackageReadmeIsForUsers()
    {
        var readme = consumer.Package.ReadEntry("README.md");
        Assert.Contains("dotnet add package LoraGen", readme);
        Assert.Contains("[Lora(", readme);
        Assert.DoesNotContain("dotnet test", readme);
    }

    [Fact]
    public void ConsumerBuildsAndRunsItsOwnModel()
    {
        Assert.True(consumer.BuildCode == 0, consumer.BuildOutput);
        Assert.True(consumer.RunCode == 0, consumer.RunOutput);
        // fc1 only: r 4 × (8 + 32) = 160 trainable parameters.
        Assert.Matches(@"trainable params: 160 \|\| all params: ", consumer.RunOutput);
        var loss = Regex.Match(consumer.RunOutput, @"loss (\S+) -> (\S+)");
        Assert.True(loss.Success, consumer.RunOutput);
        Assert.True(double.Parse(loss.Groups[2].Value, CultureInfo.InvariantCulture) < double.Parse(loss.Groups[1].Value, CultureInfo.InvariantCulture), consumer.RunOutput);
    }

    [Fact]
    public void ConfigWithoutLoraAlphaLoadsWithPeftsDefaultEight()
    {
        Assert.True(consumer.RunCode == 0, consumer.RunOutput);
        Assert.Contains("loaded fc1: r 4, alpha 8", consumer.RunOutput);
    }

    [Fact]
    public void NonPartialChildFailsTheBuildWithLora0021()
    {
        Assert.NotEqual(0, consumer.BrokenCode);
        Assert.Contains("error LORA0021", consumer.BrokenOutput);
    }
}
