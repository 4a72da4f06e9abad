using System.Collections.Immutable;
using Microsoft.CodeAnalysis;

namespace LoraGen.Generators
{
    /// <summary>Pipeline helpers.</summary>
    internal static class ProviderExtensions
    {
        /// <summary>The values that are not null, in one step (so one tracking name covers the filter).</summary>
        public static IncrementalValuesProvider<T> WhereNotNull<T>(this IncrementalValuesProvider<T?> source)
            where T : struct =>
            source.SelectMany(static (value, _) => value is { } v ? ImmutableArray.Create(v) : ImmutableArray<T>.Empty);
    }
}
