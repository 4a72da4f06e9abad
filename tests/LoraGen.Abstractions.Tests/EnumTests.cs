using LoraGen.Contract;
using Xunit;

namespace LoraGen.Abstractions.Tests;

public class EnumTests
{
    [Fact]
    public void EnumValuesAreStable()
    {
        // Values are compiled into user assemblies through attribute arguments: they must never move.
        Assert.Equal(0, (int)LoraInit.Kaiming);
        Assert.Equal(1, (int)LoraInit.Gaussian);
        Assert.Equal(0, (int)LoraBias.None);
        Assert.Equal(1, (int)LoraBias.All);
        Assert.Equal(2, (int)LoraBias.LoraOnly);
    }

    [Fact]
    public void EveryBiasHasItsPeftSpelling()
    {
        Assert.Equal(Enum.GetValues<LoraBias>().Length, EnumNames.PeftBias.Length);
        Assert.Equal(ConfigFields.BiasNone, EnumNames.PeftBias[(int)LoraBias.None]);
        Assert.Equal(ConfigFields.BiasAll, EnumNames.PeftBias[(int)LoraBias.All]);
        Assert.Equal(ConfigFields.BiasLoraOnly, EnumNames.PeftBias[(int)LoraBias.LoraOnly]);
    }

    [Fact]
    public void AnUnknownValueIsEmittedAsACastNotAsTheDefault()
    {
        Assert.Equal("global::LoraGen.LoraInit.Gaussian", EnumNames.Member(EnumNames.LoraInitType, EnumNames.LoraInit, 1));
        Assert.Equal("(global::LoraGen.LoraBias)7", EnumNames.Member(EnumNames.LoraBiasType, EnumNames.LoraBias, 7));
    }
}
