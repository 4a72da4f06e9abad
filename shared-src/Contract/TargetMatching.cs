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

        /// <summary>Whether a <c>[LoraModel(Targets)]</c> entry is PEFT's <c>"all-linear"</c> (compared case-insensitively).</summary>
        public static bool IsAllLinear(string target) => string.Equals(target, ConfigFields.AllLinear, System.StringComparison.OrdinalIgnoreCase);

        /// <summary>
        /// Whether a <c>[LoraModel(Targets)]</c> entry is a regular expression rather than a module name: it holds a
        /// character other than a letter, a digit, '_' and '.' (and is not <c>"all-linear"</c>; a path template's index
        /// placeholder such as <c>{0}</c> counts as a name). As PEFT's one-string
        /// <c>target_modules</c>, it must match the whole dotted path.
        /// </summary>
        public static bool IsPattern(string target)
        {
            if (IsAllLinear(target)) return false;
            target = System.Text.RegularExpressions.Regex.Replace(target, @"\{\d+\}", "0");   // a path template's index placeholder
            foreach (char c in target)
                if (!(char.IsLetterOrDigit(c) || c == '_' || c == '.')) return true;
            return false;
        }

        /// <summary>Why <paramref name="target"/>, a pattern entry, is not a valid regular expression, or null.</summary>
        public static string? PatternProblem(string target)
        {
            if (!IsPattern(target)) return null;
            try
            {
                _ = new System.Text.RegularExpressions.Regex(target, System.Text.RegularExpressions.RegexOptions.CultureInvariant);
                return null;
            }
            catch (System.ArgumentException e)
            {
                return e.Message;
            }
        }

        /// <summary>
        /// Whether one <c>[LoraModel(Targets)]</c> entry selects the layer at <paramref name="path"/>: a name by
        /// <see cref="Matches"/>; <c>"all-linear"</c> every Linear but the output head; a pattern by a full match. A
        /// path template's index placeholders (<c>h.{0}.attn</c>) are read as index 0.
        /// </summary>
        public static bool Selects(string target, string path, bool isLinear, bool isOutputHead)
        {
            if (IsAllLinear(target)) return isLinear && !isOutputHead;
            if (!IsPattern(target)) return Matches(path, target);
            if (PatternProblem(target) is not null) return false;
            var concrete = System.Text.RegularExpressions.Regex.Replace(path, @"\{\d+\}", "0");
            return System.Text.RegularExpressions.Regex.IsMatch(concrete, @"\A(?:" + target + @")\z", System.Text.RegularExpressions.RegexOptions.CultureInvariant);
        }

        /// <summary>
        /// The output head <c>"all-linear"</c> leaves out: the last adaptable layer in module order when it is a Linear
        /// directly on the model root (no '.' in its path), as the runtime's <c>AdapterConfig.OutputLayer</c>.
        /// </summary>
        public static bool IsOutputHead(string path, bool isLinear, bool isLast) => isLast && isLinear && path.Length > 0 && path.IndexOf('.') < 0;

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
