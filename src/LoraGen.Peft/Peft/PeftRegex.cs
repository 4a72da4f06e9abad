using System.Collections.Concurrent;
using System.Text.RegularExpressions;

namespace LoraGen.Peft;

/// <summary>
/// The regular expressions PEFT applies to module paths, in .NET's dialect. PEFT's patterns are Python <c>re</c>
/// patterns; the two agree on what adapter configs use (classes, groups, alternation, anchors), and Python's named
/// groups (<c>(?P&lt;n&gt;…)</c>, <c>(?P=n)</c>) are translated. Compiled patterns are cached.
/// </summary>
internal static class PeftRegex
{
    private static readonly ConcurrentDictionary<string, Regex> s_cache = new(StringComparer.Ordinal);

    /// <summary>Python's <c>re.fullmatch(pattern, path)</c>.</summary>
    public static bool FullMatch(string pattern, string path) => Get(@"\A(?:" + Translate(pattern) + @")\z").IsMatch(path);

    /// <summary>Python's <c>re.match(pattern, path)</c> (anchored at the start only); the match or null.</summary>
    public static Match? MatchStart(string pattern, string path)
    {
        var m = Get(@"\A(?:" + pattern + ")").Match(path);
        return m.Success ? m : null;
    }

    /// <summary>
    /// PEFT's rule for <c>rank_pattern</c>/<c>alpha_pattern</c> keys (<c>get_pattern_key</c>):
    /// <c>re.match(rf"(.*\.)?({key})$", path)</c>: the key, as a pattern, matches the whole path or a dotted suffix of it.
    /// </summary>
    public static bool MatchesPatternKey(string key, string path) => Get(@"\A(?:.*\.)?(?:" + Translate(key) + ")$").IsMatch(path);

    /// <summary>PEFT's <c>modules_to_save</c> exclusion: <c>re.match(rf"(^|.*\.){m}($|\..*)", path)</c>.</summary>
    public static bool MatchesModuleToSave(string name, string path) => Get(@"\A(?:^|.*\.)" + Translate(name) + @"(?:$|\..*)").IsMatch(path);

    /// <summary>The problem with <paramref name="pattern"/> as a regular expression, or null when it is fine.</summary>
    public static string? Problem(string pattern)
    {
        try
        {
            _ = new Regex(Translate(pattern), RegexOptions.CultureInvariant);
            return null;
        }
        catch (ArgumentException e)
        {
            return "not a valid regular expression: " + e.Message;
        }
    }

    /// <summary>Python's named-group syntax in .NET's.</summary>
    public static string Translate(string pattern) => pattern.Contains("(?P", StringComparison.Ordinal)
        ? Regex.Replace(pattern.Replace("(?P<", "(?<", StringComparison.Ordinal), @"\(\?P=(\w+)\)", @"\k<$1>")
        : pattern;

    private static Regex Get(string pattern) => s_cache.GetOrAdd(pattern, static p => new Regex(p, RegexOptions.CultureInvariant));
}
