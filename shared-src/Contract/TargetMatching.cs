namespace LoraGen.Contract
{
    /// <summary>
    /// PEFT's rule for a <c>target_modules</c> list entry (and for <c>rank_pattern</c>/<c>alpha_pattern</c> keys and
    /// <c>exclude_modules</c>): a module path matches a name when it equals it or ends with "." + name. The generator
    /// applies it to path templates (<c>h.{0}.attn.q_proj</c>), the runtime to concrete paths; both come here.
    /// </summary>
    internal static class TargetMatching
    {
        /// <summary>True when <paramref name="path"/> is <paramref name="name"/> or ends with "." + <paramref name="name"/>.</summary>
        public static bool Matches(string path, string name) =>
            name.Length > 0 &&
            (path == name ||
             (path.Length > name.Length && path.EndsWith(name, System.StringComparison.Ordinal) && path[path.Length - name.Length - 1] == '.'));

        /// <summary>The last segment of a dotted module path (what PEFT writes into <c>target_modules</c>).</summary>
        public static string LastSegment(string path)
        {
            int dot = path.LastIndexOf('.');
            return dot < 0 ? path : path.Substring(dot + 1);
        }

        /// <summary><c>parent.name</c>, or <c>name</c> at the root.</summary>
        public static string Join(string parent, string name) => parent.Length == 0 ? name : parent + "." + name;
    }
}
