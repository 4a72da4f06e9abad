namespace LoraGen.Tokenization;

/// <summary>Small helpers over id lists.</summary>
internal static class IdListExtensions
{
    /// <summary>The only element, or null when there are none or several.</summary>
    public static int? SingleOrNull(this IReadOnlyList<int> ids) => ids.Count == 1 ? ids[0] : null;
}
