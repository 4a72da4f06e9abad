using System.Reflection;
using LoraGen.Contract;
using Xunit;

namespace LoraGen.Abstractions.Tests;

public class AttributeTests
{
    [Fact]
    public void LoraDefaultsAreTheContractDefaults()
    {
        var a = new LoraAttribute();
        Assert.Equal(AttributeDefaults.Rank, a.Rank);
        Assert.Equal(0.0, a.Alpha);   // unset: the generator reads "no Alpha" as Alpha = Rank
        Assert.Equal(AttributeDefaults.Alpha(a.Rank), a.Rank);
        Assert.Equal(AttributeDefaults.Dropout, a.Dropout);
        Assert.Equal(LoraInit.Kaiming, a.Init);
        Assert.Equal(LoraBias.None, a.Bias);
        Assert.False(a.UseRsLora);
        Assert.Null(a.Name);
    }

    [Fact]
    public void LoraModelDefaultsSelectNothingByName()
    {
        var m = new LoraModelAttribute();
        Assert.Equal(AttributeDefaults.Rank, m.Rank);
        Assert.Null(m.Targets);
        Assert.Null(m.RankPattern);
        Assert.Null(m.AlphaPattern);
        Assert.Null(m.BaseModelName);
    }

    [Theory]
    [InlineData(typeof(LoraAttribute), AttributeTargets.Field | AttributeTargets.Property)]
    [InlineData(typeof(LoraModelAttribute), AttributeTargets.Class)]
    [InlineData(typeof(ModuleNameAttribute), AttributeTargets.Field | AttributeTargets.Property)]
    public void AttributesGoWhereTheGeneratorLooks(Type type, AttributeTargets targets)
    {
        var usage = type.GetCustomAttribute<AttributeUsageAttribute>()!;
        Assert.Equal(targets, usage.ValidOn);
        Assert.False(usage.AllowMultiple);
        Assert.False(usage.Inherited);
    }

    [Fact]
    public void ModuleNameKeepsItsName() => Assert.Equal("ln_f", new ModuleNameAttribute("ln_f").Name);

    [Fact]
    public void AttributeNamesAreTheOnesTheGeneratorReads()
    {
        Assert.Equal(RuntimeNames.LoraAttribute, typeof(LoraAttribute).FullName);
        Assert.Equal(RuntimeNames.LoraModelAttribute, typeof(LoraModelAttribute).FullName);
        Assert.Equal(RuntimeNames.ModuleNameAttribute, typeof(ModuleNameAttribute).FullName);
        string[] props = [RuntimeNames.RankProperty, RuntimeNames.AlphaProperty, RuntimeNames.DropoutProperty, RuntimeNames.InitProperty,
            RuntimeNames.UseRsLoraProperty, RuntimeNames.BiasProperty];
        foreach (var p in props) Assert.NotNull(typeof(LoraSettingsAttribute).GetProperty(p));
        Assert.NotNull(typeof(LoraAttribute).GetProperty(RuntimeNames.NameProperty));
        foreach (var p in new[] { RuntimeNames.TargetsProperty, RuntimeNames.RankPatternProperty, RuntimeNames.AlphaPatternProperty, RuntimeNames.BaseModelNameProperty })
            Assert.NotNull(typeof(LoraModelAttribute).GetProperty(p));
    }
}
