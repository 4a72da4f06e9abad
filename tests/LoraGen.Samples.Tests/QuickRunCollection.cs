using Xunit;

namespace LoraGen.Samples.Tests;

/// <summary>
/// The test classes that share one <c>--quick</c> run of the sample (<see cref="TinyGptSampleTests.QuickRun"/>): the
/// method runs load its pre-trained base instead of pre-training again.
/// </summary>
[CollectionDefinition(Name)]
public sealed class QuickRunCollection : ICollectionFixture<TinyGptSampleTests.QuickRun>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "TinyGpt --quick run";
}
