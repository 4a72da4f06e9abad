using System.Reflection;
using LoraGen.Contract;
using LoraGen.Generators.Tests.Models;
using LoraGen.Lora;
using LoraGen.Nn;
using Xunit;
using Module = LoraGen.Nn.Module;

namespace LoraGen.Generators.Tests;

/// <summary>
/// The generator emits against names it reads from shared-src/Contract (compiled into the generator); these tests
/// hold those names against the real runtime and abstractions assemblies and against the generated code.
/// </summary>
public class ContractTests
{
    private static readonly Assembly Runtime = typeof(Module).Assembly;
    private static readonly Assembly Abstractions = typeof(LoraAttribute).Assembly;

    private static IEnumerable<(string Field, string Value)> RuntimeNameConstants() =>
        typeof(RuntimeNames).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => (f.Name, (string)f.GetRawConstantValue()!));

    [Fact]
    public void EveryRuntimeTypeNameResolvesInTheRuntimeOrTheAbstractions()
    {
        // The TorchSharp backend's names (Torch*) resolve in TorchSharp and LoraGen.TorchSharp: checked in LoraGen.TorchSharp.Tests.
        var typeNames = RuntimeNameConstants().Where(c => c.Value.Contains('.') && !c.Field.StartsWith("Torch", StringComparison.Ordinal)).ToList();
        Assert.True(typeNames.Count >= 11, $"only {typeNames.Count} type names found");
        var missing = typeNames.Where(c => Runtime.GetType(c.Value) is null && Abstractions.GetType(c.Value) is null)
            .Select(c => $"RuntimeNames.{c.Field} = {c.Value}").ToList();
        Assert.Empty(missing);

        Assert.Equal(typeof(Module), Runtime.GetType(RuntimeNames.Module));
        Assert.Equal(typeof(Linear), Runtime.GetType(RuntimeNames.Linear));
        Assert.Equal(typeof(Embedding), Runtime.GetType(RuntimeNames.Embedding));
        Assert.Equal(typeof(AdapterSpec), Runtime.GetType(RuntimeNames.AdapterSpec));
        Assert.Equal(typeof(LoraFieldSpec), Runtime.GetType(RuntimeNames.LoraFieldSpec));
        Assert.Equal(typeof(LoraConfig), Runtime.GetType(RuntimeNames.LoraConfig));
        Assert.Equal(typeof(LoraModelController), Runtime.GetType(RuntimeNames.LoraModelController));
        Assert.Equal(typeof(LoraModelOptions), Runtime.GetType(RuntimeNames.LoraModelOptions));
        Assert.Equal(typeof(LoraAttribute), Abstractions.GetType(RuntimeNames.LoraAttribute));
        Assert.Equal(typeof(LoraModelAttribute), Abstractions.GetType(RuntimeNames.LoraModelAttribute));
        Assert.Equal(typeof(ModuleNameAttribute), Abstractions.GetType(RuntimeNames.ModuleNameAttribute));
        Assert.Equal(EnumNames.LoraInitType, "global::" + typeof(LoraInit).FullName);
        Assert.Equal(EnumNames.LoraBiasType, "global::" + typeof(LoraBias).FullName);
        Assert.Equal(EnumNames.LoraBaseQuantizationType, "global::" + typeof(LoraBaseQuantization).FullName);
        Assert.NotNull(typeof(LoraModelAttribute).GetProperty(RuntimeNames.BaseQuantizationProperty));
        Assert.NotNull(typeof(LoraModelOptions).GetProperty(RuntimeNames.BaseQuantizationProperty));
    }

    [Fact]
    public void TheMembersTheGeneratedCodeOverridesAndConstructsExist()
    {
        const BindingFlags Instance = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance;
        var children = typeof(Module).GetMethod(RuntimeNames.ChildrenMember, Instance, Type.EmptyTypes);
        Assert.NotNull(children);
        Assert.True(children.IsVirtual && children.IsPublic);
        Assert.Equal(typeof(IEnumerable<(string Name, Module Module)>), children.ReturnType);

        var specFor = typeof(Module).GetMethod(RuntimeNames.AdapterSpecForMember, Instance, [typeof(string)]);
        Assert.NotNull(specFor);
        Assert.True(specFor.IsVirtual && specFor.IsFamilyOrAssembly, "AdapterSpecFor must be protected internal virtual (generated code overrides it as protected)");
        Assert.Equal(typeof(AdapterSpec), specFor.ReturnType);

        // Constructors the generated code calls, with the argument names it passes.
        Assert.True(typeof(AdapterSpec).IsAssignableFrom(typeof(LoraFieldSpec)));
        Assert.NotNull(typeof(LoraFieldSpec).GetConstructor([typeof(LoraConfig), typeof(LoraBias)]));
        Assert.NotNull(typeof(LoraModelController).GetConstructor([typeof(Module), typeof(LoraModelOptions)]));
        Assert.Contains(typeof(LoraConfig).GetConstructors(), c => c.GetParameters().Select(p => p.Name)
            .SequenceEqual(["Rank", "Alpha", "Dropout", "Init", "UseRsLora", RuntimeNames.UseDoraProperty, "PissaNiter", RuntimeNames.VariantProperty, RuntimeNames.NolaBasesProperty]));
        Assert.Contains(typeof(LoraModelOptions).GetConstructors(), c => c.GetParameters().Select(p => p.Name)
            .SequenceEqual(["Defaults", "Bias", "Targets", "RankPattern", "AlphaPattern", "BaseModelName"]));
        Assert.NotNull(typeof(ModuleNameAttribute).GetConstructor([typeof(string)]));
    }

    [Fact]
    public void TheAttributePropertiesTheGeneratorReadsExistWithTheTypesItExpects()
    {
        var shared = new (string Name, Type Type)[]
        {
            (RuntimeNames.RankProperty, typeof(int)), (RuntimeNames.AlphaProperty, typeof(double)),
            (RuntimeNames.DropoutProperty, typeof(double)), (RuntimeNames.InitProperty, typeof(LoraInit)),
            (RuntimeNames.UseRsLoraProperty, typeof(bool)), (RuntimeNames.BiasProperty, typeof(LoraBias)),
            (RuntimeNames.UseDoraProperty, typeof(bool)),
        };
        var lora = shared.Append((RuntimeNames.NameProperty, typeof(string)));
        var root = shared.Concat([
            (RuntimeNames.TargetsProperty, typeof(string[])), (RuntimeNames.RankPatternProperty, typeof(string[])),
            (RuntimeNames.AlphaPatternProperty, typeof(string[])), (RuntimeNames.BaseModelNameProperty, typeof(string)),
        ]);
        foreach (var (attribute, properties) in new[] { (typeof(LoraAttribute), lora), (typeof(LoraModelAttribute), root) })
            foreach (var (name, type) in properties)
            {
                var p = attribute.GetProperty(name);
                Assert.True(p is not null, $"{attribute.Name}.{name} is missing");
                Assert.True(p.PropertyType == type && p.CanWrite, $"{attribute.Name}.{name}: {p.PropertyType.Name}, expected a settable {type.Name}");
            }
    }

    [Fact]
    public void GeneratedMembersCarryTheContractNames()
    {
        Assert.Equal(typeof(LoraModelController), typeof(TinyTransformer).GetProperty(RuntimeNames.FacadeProperty)?.PropertyType);
        Assert.Equal(typeof(LoraModelOptions), typeof(TinyTransformer).GetProperty(RuntimeNames.OptionsProperty, BindingFlags.Public | BindingFlags.Static)?.PropertyType);
        Assert.NotNull(typeof(TinyTransformer).GetNestedType(RuntimeNames.KeysClass));
        Assert.NotNull(typeof(Mlp).GetMethod(RuntimeNames.ChildrenMember, BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly));
        Assert.NotNull(typeof(TinyTransformer.Attention).GetMethod(RuntimeNames.AdapterSpecForMember, BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.DeclaredOnly));
    }

    [Fact]
    public void EnumNamesAreTheEnumMembersInValueOrder()
    {
        Assert.Equal(Enum.GetNames<LoraInit>(), EnumNames.LoraInit);
        Assert.Equal(Enumerable.Range(0, EnumNames.LoraInit.Length), Enum.GetValues<LoraInit>().Select(v => (int)v));
        Assert.Equal(Enum.GetNames<LoraBias>(), EnumNames.LoraBias);
        Assert.Equal(Enumerable.Range(0, EnumNames.LoraBias.Length), Enum.GetValues<LoraBias>().Select(v => (int)v));
        Assert.Equal(EnumNames.LoraBias.Length, EnumNames.PeftBias.Length);
        Assert.Equal(Enum.GetNames<LoraBaseQuantization>(), EnumNames.LoraBaseQuantization);
        Assert.Equal(Enumerable.Range(0, EnumNames.LoraBaseQuantization.Length), Enum.GetValues<LoraBaseQuantization>().Select(v => (int)v));
        Assert.Equal(Enum.GetNames<LoraVariant>(), EnumNames.LoraVariant);
        Assert.Equal(Enumerable.Range(0, EnumNames.LoraVariant.Length), Enum.GetValues<LoraVariant>().Select(v => (int)v));
        Assert.Equal((int)LoraVariant.Lora, AttributeDefaults.Variant);
        Assert.Equal(AttributeDefaults.NolaBases, new LoraAttribute().NolaBases);

        Assert.Equal("global::LoraGen.LoraBias.LoraOnly", EnumNames.Member(EnumNames.LoraBiasType, EnumNames.LoraBias, (int)LoraBias.LoraOnly));
        Assert.Equal("(global::LoraGen.LoraInit)7", EnumNames.Member(EnumNames.LoraInitType, EnumNames.LoraInit, 7));
    }

    [Fact]
    public void AttributeDefaultsAreTheAttributesOwnDefaults()
    {
        var a = new LoraAttribute();
        Assert.Equal(AttributeDefaults.Rank, a.Rank);
        Assert.Equal(AttributeDefaults.Dropout, a.Dropout);
        Assert.Equal(AttributeDefaults.Init, (int)a.Init);
        Assert.Equal(AttributeDefaults.Bias, (int)a.Bias);
        Assert.Equal(AttributeDefaults.UseRsLora, a.UseRsLora);
        Assert.Equal(0, a.Alpha);   // unset: the generator applies AttributeDefaults.Alpha(rank)
        Assert.Equal((double)AttributeDefaults.Rank, AttributeDefaults.Alpha(AttributeDefaults.Rank));
    }

    public static TheoryData<string, string, string, bool> EmittedKeys() => new()
    {
        { nameof(TinyTransformer.LoraKeys.tok_A), TinyTransformer.LoraKeys.tok_A, "tok", true },
        { nameof(TinyTransformer.LoraKeys.tok_B), TinyTransformer.LoraKeys.tok_B, "tok", true },
        { nameof(TinyTransformer.LoraKeys.layers_0_inner_attn_q_proj_A), TinyTransformer.LoraKeys.layers_0_inner_attn_q_proj_A, "layers.{0}.inner.attn.q_proj", false },
        { nameof(TinyTransformer.LoraKeys.layers_0_inner_attn_q_proj_B), TinyTransformer.LoraKeys.layers_0_inner_attn_q_proj_B, "layers.{0}.inner.attn.q_proj", false },
        { nameof(TinyTransformer.LoraKeys.layers_0_inner_attn_v_proj_A), TinyTransformer.LoraKeys.layers_0_inner_attn_v_proj_A, "layers.{0}.inner.attn.v_proj", false },
        { nameof(TinyTransformer.LoraKeys.layers_0_inner_attn_v_proj_B), TinyTransformer.LoraKeys.layers_0_inner_attn_v_proj_B, "layers.{0}.inner.attn.v_proj", false },
        { nameof(TinyTransformer.LoraKeys.layers_0_inner_up_A), TinyTransformer.LoraKeys.layers_0_inner_up_A, "layers.{0}.inner.up", false },
        { nameof(TinyTransformer.LoraKeys.layers_0_inner_up_B), TinyTransformer.LoraKeys.layers_0_inner_up_B, "layers.{0}.inner.up", false },
        { nameof(Mlp.LoraKeys.fc1_A), Mlp.LoraKeys.fc1_A, "fc1", false },
        { nameof(Mlp.LoraKeys.fc1_B), Mlp.LoraKeys.fc1_B, "fc1", false },
        { nameof(Mlp.LoraKeys.fc2_A), Mlp.LoraKeys.fc2_A, "fc2", false },
        { nameof(Mlp.LoraKeys.fc2_B), Mlp.LoraKeys.fc2_B, "fc2", false },
    };

    /// <summary>Every key the generator emitted for the two test models, with the path and kind it stands for.</summary>
    [Theory]
    [MemberData(nameof(EmittedKeys))]
    public void EmittedKeysArePeftKeys(string constant, string emitted, string path, bool embedding)
    {
        var expected = constant.EndsWith("_A", StringComparison.Ordinal) ? PeftKeys.A(path, embedding) : PeftKeys.B(path, embedding);
        Assert.Equal(expected, emitted);
    }

    [Fact]
    public void TheKeyRowsCoverEveryEmittedConstant() =>
        Assert.Equal(typeof(TinyTransformer.LoraKeys).GetFields().Length + typeof(Mlp.LoraKeys).GetFields().Length, EmittedKeys().Count());
}
