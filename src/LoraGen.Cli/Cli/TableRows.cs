using Spectre.Console;

namespace LoraGen.Cli;

/// <summary>Table rows of plain text (shapes like <c>[2, 5]</c> are not markup).</summary>
internal static class TableRows
{
    public static Table AddPlainRow(this Table table, params string[] cells) =>
        table.AddRow(cells.Select(c => new Text(c)).ToArray<Spectre.Console.Rendering.IRenderable>());
}
