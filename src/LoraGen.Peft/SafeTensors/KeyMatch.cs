namespace LoraGen.SafeTensors;

/// <summary>
/// How a file's tensors line up with the keys and shapes a model expects: the one key-matching rule behind
/// base-weight loads and adapter loads alike (<see cref="SafetensorsFile.Match"/>).
/// </summary>
/// <param name="Path">The file (or "(memory)").</param>
/// <param name="Matched">Expected keys present with the expected shape, in expectation order.</param>
/// <param name="Missing">Expected keys the file lacks.</param>
/// <param name="Unexpected">File keys nobody expected, in file order.</param>
/// <param name="Mismatched">Keys present with another shape, each as <c>key: file [..], expected [..]</c>.</param>
public sealed record KeyMatch(string Path, IReadOnlyList<string> Matched, IReadOnlyList<string> Missing,
    IReadOnlyList<string> Unexpected, IReadOnlyList<string> Mismatched)
{
    /// <summary>True when every expected key is present with its shape and nothing else is in the file.</summary>
    public bool IsExact => Missing.Count == 0 && Unexpected.Count == 0 && Mismatched.Count == 0;
}
