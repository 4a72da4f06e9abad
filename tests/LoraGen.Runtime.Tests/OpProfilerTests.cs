using LoraGen.Autograd;
using LoraGen.Ops;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests;

/// <summary>The op profiler is process-wide: its tests run alone, so no other test's ops land in the table.</summary>
[CollectionDefinition(nameof(OpProfilerTests), DisableParallelization = true)]
public class OpProfilerCollection;

/// <summary>The op profiler's table (LORAGEN_PROFILE=1).</summary>
[Collection(nameof(OpProfilerTests))]
public class OpProfilerTests
{
    [Fact]
    public void RecordsForwardAndBackwardPerOpAndStep()
    {
        bool was = OpProfiler.Enabled;
        try
        {
            OpProfiler.Enabled = true;
            OpProfiler.Reset();
            var rng = new Rng(1);
            var x = Tensor.Randn(rng, 1f, 8, 16);
            var w = Tensor.Randn(rng, 1f, 4, 16);
            w.RequiresGrad = true;
            for (int step = 0; step < 2; step++) x.Linear(w).Gelu().Sum().Backward();
            var report = OpProfiler.Report();
            Assert.Contains("averaged over 2 step(s)", report);
            var linear = report.Split('\n').Single(l => l.StartsWith("| linear |", StringComparison.Ordinal));
            Assert.StartsWith("| linear | 1/1 |", linear);   // one forward and one backward per step
            Assert.Contains("| gelu |", report);
            Assert.Contains("| **all ops** |", report);
        }
        finally
        {
            OpProfiler.Enabled = was;
            OpProfiler.Reset();
        }
    }

    [Fact]
    public void DisabledScopeRecordsNothing()
    {
        var scope = default(OpScope);
        scope.Dispose();   // the default scope (profiling off) must be a no-op
        Assert.Null(scope.Op);
    }
}
