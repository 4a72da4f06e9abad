using System.Diagnostics;

namespace LoraGen.Kernels;

/// <summary>
/// Splits work across the cores when there is enough of it to pay for the hand-off. One hand-off is one
/// <see cref="For"/>: the calling thread and <see cref="Threads"/> − 1 persistent workers take items from a shared
/// counter (so a core slowed by other work takes fewer), and the workers spin for a short while after each job before
/// they block, so that the many small hand-offs of a batch-1 forward do not each pay a thread wake-up.
/// </summary>
/// <remarks>
/// One job runs at a time. A <see cref="For"/> called while another is running — from inside a body (nested), or from
/// another thread — runs its items on the calling thread, so no call ever waits for the pool and none deadlocks.
/// </remarks>
internal static class Par
{
    /// <summary>Below this many elements of work an operation stays on one thread.</summary>
    internal const int MinParallelWork = 1 << 17;

    /// <summary>How many threads a job may use (the calling thread included).</summary>
    internal static readonly int Threads = Math.Max(1, Environment.ProcessorCount);

    /// <summary>How long an idle worker watches for the next job before it blocks.</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 10_000;   // 100 µs

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
        For(chunks, c => body((int)((long)rows * c / chunks), (int)((long)rows * (c + 1) / chunks)));
    }

    /// <summary>
    /// Calls <paramref name="body"/>(i) once for every i in [0, <paramref name="count"/>), on up to
    /// <see cref="Threads"/> threads (the caller's among them), and returns when all have returned. The first exception
    /// of a body is rethrown here.
    /// </summary>
    internal static void For(int count, Action<int> body)
    {
        if (count <= 0) return;
        if (count == 1 || Threads == 1 || _isWorker || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        try
        {
            EnsureWorkers();
            var job = new Job(body, count);
            Volatile.Write(ref _job, job);
            Interlocked.Increment(ref _generation);
            if (Volatile.Read(ref _sleeping) > 0)
                lock (Gate) Monitor.PulseAll(Gate);
            job.Work();
            var spin = new SpinWait();
            while (Volatile.Read(ref job.Done) < count) spin.SpinOnce(sleep1Threshold: -1);
            Volatile.Write(ref _job, null);
            if (job.Error is { } e) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>One <see cref="For"/> call: its items are taken by index from <see cref="Next"/>.</summary>
    private sealed class Job(Action<int> body, int count)
    {
        public int Next = -1, Done;
        public Exception? Error;

        /// <summary>Takes items until none is left.</summary>
        public void Work()
        {
            int i;
            while ((i = Interlocked.Increment(ref Next)) < count)
            {
                try { body(i); }
                catch (Exception e) { Interlocked.CompareExchange(ref Error, e, null); }
                finally { Interlocked.Increment(ref Done); }
            }
        }
    }

    private static readonly Lock WorkersGate = new();
    private static readonly object Gate = new();
    private static Thread[]? _workers;
    private static Job? _job;
    private static int _busy, _generation, _sleeping;
    [ThreadStatic] private static bool _isWorker;

    private static void EnsureWorkers()
    {
        if (Volatile.Read(ref _workers) is not null) return;
        lock (WorkersGate)
        {
            if (_workers is not null) return;
            var workers = new Thread[Threads - 1];
            for (int w = 0; w < workers.Length; w++)
            {
                workers[w] = new Thread(WorkerLoop) { IsBackground = true, Name = $"LoraGen.Par {w + 1}" };
                workers[w].Start();
            }
            Volatile.Write(ref _workers, workers);
        }
    }

    private static void WorkerLoop()
    {
        _isWorker = true;
        int seen = Volatile.Read(ref _generation);
        while (true)
        {
            // Watch for the next job for a short while, then block until one is published.
            long until = Stopwatch.GetTimestamp() + SpinTicks;
            while (Volatile.Read(ref _generation) == seen && Stopwatch.GetTimestamp() < until) Thread.SpinWait(20);
            if (Volatile.Read(ref _generation) == seen)
            {
                lock (Gate)
                {
                    Interlocked.Increment(ref _sleeping);
                    while (Volatile.Read(ref _generation) == seen) Monitor.Wait(Gate);
                    Interlocked.Decrement(ref _sleeping);
                }
            }
            seen = Volatile.Read(ref _generation);
            Volatile.Read(ref _job)?.Work();
        }
    }
}
