using LoraGen.Peft;
using Xunit;

namespace LoraGen.Peft.Tests;

/// <summary>
/// <see cref="AdapterConfig.SelectingExactly"/>: a saved config's layer selection gives exactly the adapted layers —
/// the original selection's fields when they still do, else the names plus exclusions — on models with and without
/// layers shared under several paths.
/// </summary>
public class SelectingExactlyTests
{
    private static readonly List<(string Path, LayerKind Kind)> Gpt =
    [
        ("transformer.h.0.attn.q_proj", LayerKind.Linear), ("transformer.h.0.attn.v_proj", LayerKind.Linear),
        ("transformer.h.1.attn.q_proj", LayerKind.Linear), ("transformer.h.1.attn.v_proj", LayerKind.Linear),
        ("transformer.h.10.attn.q_proj", LayerKind.Linear),
        ("lm_head", LayerKind.Linear),
    ];

    /// <summary>What <see cref="AdapterConfig.FromLayers"/> writes: the adapted layers' last names as targets.</summary>
    private static AdapterConfig Named(params string[] names) => new() { TargetModules = OneOrMany<string>.Many(names) };

    [Fact]
    public void TheOriginalSelectionIsKeptWhenItStillGivesTheAdaptedLayers()
    {
        var selection = AdapterConfig.Parse("""{"target_modules": ["q_proj", "v_proj"], "layers_to_transform": [0], "layers_pattern": "h"}""");
        string[] adapted = ["transformer.h.0.attn.q_proj", "transformer.h.0.attn.v_proj"];
        var got = Named("q_proj", "v_proj").SelectingExactly(adapted, Gpt, selection);
        Assert.Equal(selection.TargetModules, got.TargetModules);
        Assert.Equal(selection.LayersToTransform, got.LayersToTransform);
        Assert.Equal(selection.LayersPattern, got.LayersPattern);
        Assert.Null(got.ExcludeModules);
        Assert.Equal(adapted, got.SelectLayers(Gpt));
    }

    [Fact]
    public void AllLinearIsWrittenBackAsItWas()
    {
        var selection = AdapterConfig.Parse("""{"target_modules": "all-linear"}""");
        var adapted = Gpt.Take(5).Select(l => l.Path).ToList();   // all but the output head
        var got = Named("q_proj", "v_proj").SelectingExactly(adapted, Gpt, selection);
        Assert.True(got.IsAllLinear);
        Assert.Equal(adapted, got.SelectLayers(Gpt));
    }

    [Fact]
    public void WhenNamesReachMoreLayersTheExtrasAreExcludedByFullPath()
    {
        string[] adapted = ["transformer.h.0.attn.q_proj", "transformer.h.1.attn.q_proj"];
        var got = Named("q_proj").SelectingExactly(adapted, Gpt, selection: null);
        Assert.Equal(OneOrMany<string>.Many("transformer.h.10.attn.q_proj"), got.ExcludeModules);
        Assert.Equal(adapted, got.SelectLayers(Gpt));
    }

    [Fact]
    public void ASelectionThatNoLongerFitsFallsBackToNamesThatDo()
    {
        // Created with layers_to_transform [0]; then h.1's q_proj got the adapter too (e.g. added by hand).
        var selection = AdapterConfig.Parse("""{"target_modules": ["q_proj"], "layers_to_transform": [0], "layers_pattern": "h"}""");
        string[] adapted = ["transformer.h.0.attn.q_proj", "transformer.h.1.attn.q_proj"];
        var got = Named("q_proj").SelectingExactly(adapted, Gpt, selection);
        Assert.Equal(adapted, got.SelectLayers(Gpt));
        Assert.Null(got.LayersToTransform);   // it would drop h.1
    }

    private static readonly List<(string Path, LayerKind Kind)> Tied =
    [
        ("encoder.shared.proj", LayerKind.Linear),
        ("encoder.other.proj", LayerKind.Linear),
    ];

    private static readonly Dictionary<string, IReadOnlyList<string>> TiedAliases = new(StringComparer.Ordinal)
    {
        ["encoder.shared.proj"] = ["decoder.shared.proj"],
    };

    [Fact]
    public void ASharedLayerIsSelectedUnderAnyOfItsPathsAndNamedByItsFirst()
    {
        var byAlias = AdapterConfig.Parse("""{"target_modules": ["decoder.shared.proj"]}""");
        Assert.Equal(["encoder.shared.proj"], byAlias.SelectLayers(Tied, TiedAliases));
        Assert.Empty(byAlias.SelectLayers(Tied));
        var both = Named("proj");
        Assert.Equal(["encoder.shared.proj", "encoder.other.proj"], both.SelectLayers(Tied, TiedAliases));   // once each
    }

    [Fact]
    public void ASelectionNamingASharedLayerByItsAliasIsKept()
    {
        var selection = AdapterConfig.Parse("""{"target_modules": ["decoder.shared.proj"]}""");
        string[] adapted = ["encoder.shared.proj"];
        var got = Named("proj").SelectingExactly(adapted, Tied, selection, TiedAliases);
        Assert.Equal(selection.TargetModules, got.TargetModules);
        // Without the alias map the same selection reaches nothing, so the names and an exclusion are written instead.
        var blind = Named("proj").SelectingExactly(adapted, Tied, selection);
        Assert.Equal(Named("proj").TargetModules, blind.TargetModules);
        Assert.Equal(OneOrMany<string>.Many("encoder.other.proj"), blind.ExcludeModules);
    }

    [Fact]
    public void ExclusionsNameASharedLayerByItsFirstPath()
    {
        string[] adapted = ["encoder.other.proj"];
        var got = Named("proj").SelectingExactly(adapted, Tied, selection: null, TiedAliases);
        // Every path of the shared layer is excluded: our reload (which selects a shared layer through any of its
        // paths) must not reach it through the alias; the extra name matches nothing in PEFT, which lists a shared
        // module once, by its first path (named_modules() drops duplicates).
        Assert.Equal(OneOrMany<string>.Many("encoder.shared.proj", "decoder.shared.proj"), got.ExcludeModules);
        Assert.Equal(adapted, got.SelectLayers(Tied, TiedAliases));   // our view
        Assert.Equal(adapted, got.SelectLayers(Tied));   // PEFT's view
    }
}
