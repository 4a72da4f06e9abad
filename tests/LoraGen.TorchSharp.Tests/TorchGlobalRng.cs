using Xunit;

namespace LoraGen.TorchSharp.Tests;

/// <summary>
/// The test classes that seed or draw from TorchSharp's global generator (<c>torch.manual_seed</c>, layer
/// constructors, <c>nn.init</c> without a generator). xUnit runs classes in parallel; one class's draws between another's
/// <c>manual_seed</c> and its layer constructors gave that class other base weights than its twin model (the cause of
/// the intermittent <c>Named_adapters_switch_and_delete</c> and <c>Save_then_Load_is_exact…</c> failures under load).
/// The classes of this collection run one at a time.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchGlobalRng
{
    /// <summary>The collection's name.</summary>
    public const string Name = "TorchSharp global generator";
}
