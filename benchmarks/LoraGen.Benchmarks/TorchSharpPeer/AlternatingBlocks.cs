using System.Diagnostics;

namespace LoraGen.Benchmarks.TorchSharpPeer;

/// <summary>
/// Times two sides of an in-process comparison in alternating blocks of calls with a 20 ms pause before each block —
/// not call by call: each side's idle workers spin for a while after a call (libtorch's OpenMP threads, LoraGen's
/// <c>Par</c> workers) and would take the other side's second core. Six blocks per side, so that machine drift still
/// hits both alike.
/// </summary>
internal static class AlternatingBlocks
{
    /// <summary>Runs each side <paramref name="reps"/> times (rounded up to whole blocks) and returns each call's seconds.</summary>
    public static (List<double> Ours, List<double> Theirs) Time(int reps, Action ours, Action theirs)
    {
        var (a, b) = (new List<double>(), new List<double>());
        int block = Math.Max(1, reps / 6);
        for (int done = 0; done < reps; done += block)
        {
            Block(ours, a, block);
            Block(theirs, b, block);
        }
        return (a, b);
    }

    private static void Block(Action run, List<double> into, int calls)
    {
        Thread.Sleep(20);
        for (int i = 0; i < calls; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            run();
            into.Add((Stopwatch.GetTimestamp() - t0) / (double)Stopwatch.Frequency);
        }
    }
}
