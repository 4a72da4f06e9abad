using System.Text;

namespace LoraGen.Generators.Emitting
{
    /// <summary>
    /// Builds generated source from templates at an indentation level. Every line of a (raw-string) template is
    /// indented; empty lines stay empty; lines end with <c>\n</c> whatever the template's line endings, so the
    /// output is the same on every machine.
    /// </summary>
    internal sealed class SourceWriter
    {
        private const string IndentUnit = "    ";
        private readonly StringBuilder _text = new();

        /// <summary>The indentation level, in units of four spaces.</summary>
        public int Indent { get; set; }

        /// <summary>Writes <paramref name="template"/>, one or more lines, each at the current indentation.</summary>
        public void WriteLine(string template)
        {
            int start = 0;
            while (true)
            {
                int end = template.IndexOf('\n', start);
                int stop = end < 0 ? template.Length : end;
                int length = stop - start;
                if (length > 0 && template[stop - 1] == '\r') length--;
                if (length > 0)
                {
                    for (int i = 0; i < Indent; i++) _text.Append(IndentUnit);
                    _text.Append(template, start, length);
                }
                _text.Append('\n');
                if (end < 0) return;
                start = end + 1;
            }
        }

        /// <summary>Writes an empty line.</summary>
        public void WriteLine() => _text.Append('\n');

        /// <summary>Writes <paramref name="header"/> (one or more lines) and an opening brace, then indents.</summary>
        public void OpenBlock(string header)
        {
            WriteLine(header);
            WriteLine("{");
            Indent++;
        }

        /// <summary>Unindents and writes a closing brace.</summary>
        public void CloseBlock()
        {
            Indent--;
            WriteLine("}");
        }

        /// <inheritdoc />
        public override string ToString() => _text.ToString();
    }
}
