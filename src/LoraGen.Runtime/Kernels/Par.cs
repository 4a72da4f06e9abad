namespace LoraGen.Kernels;

/// <summary>Splits row-wise work across the cores when there is enough of it to pay for the hand-off.</summary>
internal static class Par
{
    /// <summary>Below this many elements of work an operation stays on one thread.</summary>
    internal const int MinParallelWork = 1 << 15;

    internal static readonly int Threads = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Calls <paramref name="body"/>(start, end) over disjoint row ranges covering [0, rows).</summary>
    internal static void Rows(int rows, long workPerRow, Action<int, int> body)
    {
        int chunks = (int)Math.Min(Threads, Math.Max(1, rows * workPerRow / MinParallelWork));
        chunks = Math.Min(chunks, rows);
        if (chunks <= 1)
        {
            if (rows > 0) body(0, rows);
            return;
        }
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = chunks }, c =>
            body((int)((long)rows * c / chunks), (int)((long)rows * (c + 1) / chunks)));
    }
}
