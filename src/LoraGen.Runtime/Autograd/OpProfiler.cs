using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace LoraGen.Autograd;

/// <summary>
/// Per-op time and allocation profile of forward and backward passes. Switched on by the environment variable
/// <c>LORAGEN_PROFILE=1</c> (the table is then printed to stderr at process exit) or by setting <see cref="Enabled"/>.
/// </summary>
/// <remarks>
/// When off, an op pays one static bool check (<see cref="Forward"/> returns an empty scope). Times and bytes are
/// <em>self</em> figures: an op that calls another op (the LoRA path calls linear) is charged without its callee. Bytes
/// are the process-wide managed allocation during the op (<see cref="GC.GetTotalAllocatedBytes"/>, so parallel workers
/// count too). A step is one <c>Backward</c> call; the table divides by the number of steps seen.
/// </remarks>
public static class OpProfiler
{
    private sealed class Row
    {
        public long FwdCalls, FwdTicks, FwdBytes, BwdCalls, BwdTicks, BwdBytes;
    }

    private static readonly Dictionary<string, Row> Rows = new(StringComparer.Ordinal);
    private static readonly Lock Gate = new();
    private static int _steps;
    private static TimeSpan _gcPauseAtReset = GC.GetTotalPauseDuration();
    private static int _gen2AtReset = GC.CollectionCount(2);

    // Self-time bookkeeping: the time and bytes of callees, per nesting level, on this thread.
    [ThreadStatic] private static long[]? _childTicks, _childBytes;
    [ThreadStatic] private static int _depth;

    /// <summary>Whether ops are being profiled. Starts as <c>LORAGEN_PROFILE=1</c> says.</summary>
    public static bool Enabled;

    static OpProfiler()
    {
        var v = Environment.GetEnvironmentVariable("LORAGEN_PROFILE");
        if (v is "1" or "true")
        {
            Enabled = true;
            AppDomain.CurrentDomain.ProcessExit += (_, _) => Console.Error.Write(Report());
        }
    }

    /// <summary>Begins timing the forward of <paramref name="op"/>; dispose the scope when the op returns.</summary>
    public static OpScope Forward(string op) => Enabled ? Begin(op, backward: false) : default;

    /// <summary>Begins timing the backward of <paramref name="op"/> (called by <see cref="Backprop"/>).</summary>
    internal static OpScope Backward(string op) => Enabled ? Begin(op, backward: true) : default;

    /// <summary>
    /// Counts one step: a backward pass calls it at its end; an inference loop calls it once per forward so that the
    /// table is per forward.
    /// </summary>
    public static void StepEnded()
    {
        if (Enabled) Interlocked.Increment(ref _steps);
    }

    /// <summary>Forgets everything recorded so far (e.g. after warm-up).</summary>
    public static void Reset()
    {
        lock (Gate)
        {
            Rows.Clear();
            _steps = 0;
            _gcPauseAtReset = GC.GetTotalPauseDuration();
            _gen2AtReset = GC.CollectionCount(2);
        }
    }

    private static OpScope Begin(string op, bool backward)
    {
        _childTicks ??= new long[64];
        _childBytes ??= new long[64];
        if (_depth >= _childTicks.Length) return default;   // absurd nesting: stop attributing rather than fail
        _childTicks[_depth] = 0;
        _childBytes[_depth] = 0;
        _depth++;
        return new OpScope(op, backward, Stopwatch.GetTimestamp(), GC.GetTotalAllocatedBytes(precise: false));
    }

    internal static void End(in OpScope s)
    {
        long ticks = Stopwatch.GetTimestamp() - s.Start, bytes = GC.GetTotalAllocatedBytes(precise: false) - s.Bytes;
        _depth--;
        long selfTicks = ticks - _childTicks![_depth], selfBytes = bytes - _childBytes![_depth];
        if (_depth > 0)
        {
            _childTicks[_depth - 1] += ticks;
            _childBytes[_depth - 1] += bytes;
        }
        lock (Gate)
        {
            string op = s.Op!;
            if (!Rows.TryGetValue(op, out var row)) Rows[op] = row = new Row();
            if (s.IsBackward) { row.BwdCalls++; row.BwdTicks += selfTicks; row.BwdBytes += selfBytes; }
            else { row.FwdCalls++; row.FwdTicks += selfTicks; row.FwdBytes += selfBytes; }
        }
    }

    /// <summary>
    /// The profile as a Markdown table, per step: calls, forward and backward milliseconds, and MB allocated,
    /// costliest op first.
    /// </summary>
    public static string Report()
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        lock (Gate)
        {
            double steps = Math.Max(1, _steps), msPerTick = 1000.0 / Stopwatch.Frequency;
            sb.Append(inv, $"LORAGEN_PROFILE: per step, averaged over {_steps} step(s); self time (callees excluded); ");
            sb.Append(inv, $"GC pauses {(GC.GetTotalPauseDuration() - _gcPauseAtReset).TotalMilliseconds / steps:F1} ms/step (inside the ops' times), gen-2 collections {(GC.CollectionCount(2) - _gen2AtReset) / steps:0.##}/step\n");
            sb.Append("| op | calls fwd/bwd | fwd ms | bwd ms | total ms | fwd MB | bwd MB |\n|---|---|---|---|---|---|---|\n");
            double tf = 0, tb = 0, mf = 0, mb = 0;
            foreach (var (op, r) in Rows.OrderByDescending(kv => kv.Value.FwdTicks + kv.Value.BwdTicks))
            {
                double f = r.FwdTicks * msPerTick / steps, b = r.BwdTicks * msPerTick / steps;
                double fm = r.FwdBytes / steps / (1 << 20), bm = r.BwdBytes / steps / (1 << 20);
                tf += f; tb += b; mf += fm; mb += bm;
                sb.Append(inv, $"| {op} | {r.FwdCalls / steps:0.#}/{r.BwdCalls / steps:0.#} | {f:F1} | {b:F1} | {f + b:F1} | {fm:F1} | {bm:F1} |\n");
            }
            sb.Append(inv, $"| **all ops** | | {tf:F1} | {tb:F1} | {tf + tb:F1} | {mf:F1} | {mb:F1} |\n");
        }
        return sb.ToString();
    }
}
