using Microsoft.CodeAnalysis;
using Xunit;
using Microsoft.CodeAnalysis.CSharp;

namespace LoraGen.Architecture.Tests;

/// <summary>
/// The runtime's folders form layers: a semantic walk of its sources records which folder's types each folder uses;
/// a cycle between folders, or an edge the architecture forbids, fails.
/// </summary>
public class DependencyTests
{
    private static readonly Lazy<Dictionary<string, HashSet<string>>> Graph = new(BuildRuntimeGraph);

    /// <summary>Folder namespace → the runtime folder namespaces its code uses (types, members, extension methods, operators).</summary>
    private static Dictionary<string, HashSet<string>> BuildRuntimeGraph()
    {
        var compilation = RepoSources.Compile("src/LoraGen.Runtime", "LoraGen.Runtime", "shared-src/Contract");
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Take(5).ToList();
        Assert.True(errors.Count == 0, "the runtime sources do not compile here: " + string.Join("; ", errors));
        var runtimeFiles = RepoSources.CsFiles("src/LoraGen.Runtime").ToHashSet(StringComparer.Ordinal);
        var graph = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var tree in compilation.SyntaxTrees.Where(t => runtimeFiles.Contains(t.FilePath)))
        {
            var model = compilation.GetSemanticModel(tree);
            foreach (var node in tree.GetRoot().DescendantNodes())
            {
                var from = model.GetEnclosingSymbol(node.SpanStart)?.ContainingNamespace?.ToDisplayString();
                if (from is null || node is Microsoft.CodeAnalysis.CSharp.Syntax.UsingDirectiveSyntax) continue;
                if (!graph.TryGetValue(from, out var edges)) graph[from] = edges = new(StringComparer.Ordinal);
                var symbol = model.GetSymbolInfo(node).Symbol;
                if (symbol is IMethodSymbol { ReducedFrom: { } reduced }) symbol = reduced;
                var target = symbol switch
                {
                    INamespaceSymbol => null,
                    INamedTypeSymbol t => t.ContainingNamespace,
                    { ContainingType: { } ct } => ct.ContainingNamespace,
                    _ => null,
                };
                if (target is null || !SymbolEqualityComparer.Default.Equals(target.ContainingAssembly, compilation.Assembly)) continue;
                var to = target.ToDisplayString();
                if (to != from && to.StartsWith("LoraGen.", StringComparison.Ordinal) && to != "LoraGen.Contract") edges.Add(to);
            }
        }
        return graph;
    }

    [Fact]
    public void RuntimeFoldersHaveNoDependencyCycle()
    {
        var cycles = Cycles(Graph.Value);
        Assert.True(cycles.Count == 0, "dependency cycles between runtime folders: " + string.Join("; ", cycles.Select(c => string.Join(" -> ", c))) + "\n" + Describe(Graph.Value));
    }

    [Theory]
    [InlineData("LoraGen.Nn", "LoraGen.Lora")]          // layers expose an adapter slot; LoRA implements it
    [InlineData("LoraGen.Tensors", "LoraGen.Autograd")] // a tensor records its GradNode; the engine is above it
    [InlineData("LoraGen.Tensors", "LoraGen.Ops")]
    [InlineData("LoraGen.Kernels", "LoraGen.Tensors")]  // kernels work on spans only
    [InlineData("LoraGen.Ops", "LoraGen.Nn")]
    [InlineData("LoraGen.Optim", "LoraGen.Lora")]
    public void ForbiddenEdgeIsAbsent(string from, string to)
    {
        Assert.True(Graph.Value.ContainsKey(from), $"{from} not found in the runtime: {Describe(Graph.Value)}");
        Assert.DoesNotContain(to, Graph.Value[from]);
    }

    [Fact]
    public void TheWalkSeesRealEdges()
    {
        // A walk that found nothing would pass the tests above trivially.
        Assert.Contains("LoraGen.Tensors", Graph.Value["LoraGen.Ops"]);
        Assert.Contains("LoraGen.Autograd", Graph.Value["LoraGen.Ops"]);
        Assert.Contains("LoraGen.Nn", Graph.Value["LoraGen.Lora"]);
        Assert.Contains("LoraGen.Kernels", Graph.Value["LoraGen.Ops"]);
    }

    [Fact]
    public void CycleFinderFindsACycle()
    {
        var g = new Dictionary<string, HashSet<string>> { ["a"] = ["b"], ["b"] = ["c"], ["c"] = ["a"], ["d"] = ["a"] };
        var cycle = Assert.Single(Cycles(g));
        Assert.Equal(["a", "b", "c"], cycle.Order(StringComparer.Ordinal));
    }

    /// <summary>Strongly connected components with more than one folder (Tarjan).</summary>
    internal static List<List<string>> Cycles(Dictionary<string, HashSet<string>> graph)
    {
        int index = 0;
        var idx = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var result = new List<List<string>>();
        void Visit(string v)
        {
            idx[v] = low[v] = index++;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in graph.TryGetValue(v, out var e) ? e : [])
            {
                if (!idx.ContainsKey(w)) { Visit(w); low[v] = Math.Min(low[v], low[w]); }
                else if (onStack.Contains(w)) low[v] = Math.Min(low[v], idx[w]);
            }
            if (low[v] != idx[v]) return;
            var scc = new List<string>();
            string x;
            do { x = stack.Pop(); onStack.Remove(x); scc.Add(x); } while (x != v);
            if (scc.Count > 1) result.Add(scc);
        }
        foreach (var v in graph.Keys.Order(StringComparer.Ordinal)) if (!idx.ContainsKey(v)) Visit(v);
        return result;
    }

    private static string Describe(Dictionary<string, HashSet<string>> g) =>
        string.Join("\n", g.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} -> {string.Join(", ", kv.Value.Order(StringComparer.Ordinal))}"));
}
