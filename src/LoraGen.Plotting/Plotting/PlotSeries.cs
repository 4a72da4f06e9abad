namespace LoraGen.Plotting;

/// <summary>One curve or set of points of a plot: x and y values of equal length, a legend label and a style.</summary>
/// <param name="Label">The legend text (empty: not in the legend).</param>
/// <param name="X">The x values (e.g. steps).</param>
/// <param name="Y">The y values (e.g. losses).</param>
/// <param name="MarkersOnly">Draw markers without a connecting line (e.g. a validation loss measured twice).</param>
/// <param name="RightAxis">Plot against the right y axis (e.g. the learning rate beside the loss).</param>
public sealed record PlotSeries(string Label, double[] X, double[] Y, bool MarkersOnly = false, bool RightAxis = false);
