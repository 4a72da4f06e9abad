using LoraGen.Kernels;
using Xunit;

namespace LoraGen.Runtime.Tests;

/// <summary>The hand-off (<see cref="Par"/>): every item once, nested and concurrent calls, exceptions.</summary>
public class ParTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(1000)]
    public void ForRunsEveryItemExactlyOnce(int count)
    {
        for (int round = 0; round < 50; round++)
        {
            var hits = new int[count];
            Par.For(count, i => Interlocked.Increment(ref hits[i]));
            Assert.All(hits, h => Assert.Equal(1, h));
        }
    }

    [Fact]
    public void RowsCoversEveryRowOnceInDisjointRanges()
    {
        foreach (int rows in new[] { 1, 3, 64, 1001 })
        {
            var hits = new int[rows];
            Par.Rows(rows, Par.MinParallelWork, (lo, hi) =>
            {
                for (int r = lo; r < hi; r++) Interlocked.Increment(ref hits[r]);
            });
            Assert.All(hits, h => Assert.Equal(1, h));
        }
    }

    [Fact]
    public void NestedCallsRunAndReturn()
    {
        var hits = new int[16 * 16];
        Par.For(16, i => Par.For(16, j => Interlocked.Increment(ref hits[i * 16 + j])));
        Assert.All(hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void CallsFromSeveralThreadsAtOnceAllComplete()
    {
        var totals = new long[8];
        var threads = Enumerable.Range(0, totals.Length).Select(t => new Thread(() =>
        {
            for (int round = 0; round < 200; round++)
                Par.For(5, i => Interlocked.Add(ref totals[t], i + 1));
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.All(totals, s => Assert.Equal(200L * 15, s));
    }

    [Fact]
    public void AnExceptionInABodyIsRethrownAndThePoolStaysUsable()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Par.For(8, i =>
        {
            if (i == 5) throw new InvalidOperationException("item 5");
        }));
        Assert.Equal("item 5", ex.Message);
        var hits = new int[8];
        Par.For(8, i => Interlocked.Increment(ref hits[i]));
        Assert.All(hits, h => Assert.Equal(1, h));
    }
}
