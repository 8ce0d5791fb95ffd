namespace HealthRec.Server.Smart;

/// <summary>
/// The geometry of one trend chart, drawn as inline SVG on the server: values on a linear time axis, treatment periods
/// as shaded bands, and the same values as a table for screen readers and for reading exact numbers.
/// </summary>
public sealed record Chart(
    string Id,
    string Summary,
    AxisLabel Min,
    AxisLabel Max,
    string From,
    string To,
    IReadOnlyList<ChartLine> Lines,
    IReadOnlyList<ChartPeriod> Periods,
    IReadOnlyList<ChartRow> Rows)
{
    public const int Width = 720;
    public const int Height = 200;
    public const int Left = 48;
    public const int Right = 710;
    public const int Top = 10;
    public const int Bottom = 172;
    public const int PlotHeight = Bottom - Top;

    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;
    private static readonly string[] Colours = ["#1d3557", "#e76f51"];

    /// <summary>The chart of a trend; values are written with <paramref name="valueFormat"/> (one decimal by default).</summary>
    public static Chart Of(Trend trend, string valueFormat = "0.#")
    {
        var points = trend.Series.SelectMany(s => s.Points).ToList();
        var first = points.Min(p => p.At);
        var last = points.Max(p => p.At);
        var span = Math.Max((last - first).TotalDays, 1);
        // Years on the axis for a record's decade; days for a model's weeks of evaluations.
        var dates = span < 730 ? "yyyy-MM-dd" : "yyyy";
        var low = points.Min(p => p.Value);
        var high = points.Max(p => p.Value);
        var pad = Math.Max((high - low) * 0.1, Math.Abs(high) * 0.02 + 0.1);
        (low, high) = (low - pad, high + pad);
        double X(DateTimeOffset at) => Left + ((at - first).TotalDays / span * (Right - Left));
        double Y(double value) => Bottom - ((value - low) / (high - low) * PlotHeight);

        var lines = trend.Series.Select((s, i) => new ChartLine(
            string.Join(' ', s.Points.Select(p => string.Create(Ci, $"{X(p.At):0.#},{Y(p.Value):0.#}"))), Colours[i % Colours.Length],
            [.. s.Points.Select(p => new ChartPoint(X(p.At).ToString("0.#", Ci), Y(p.Value).ToString("0.#", Ci),
                string.Create(Ci, $"{p.At:yyyy-MM-dd}: {s.Name} {p.Value.ToString(valueFormat, Ci)}")))])).ToList();
        var periods = trend.Treatments
            .Select(t => (t.Label, Start: X(t.Start < first ? first : t.Start), End: X(t.End > last ? last : t.End)))
            .Where(t => t.End > t.Start)
            .Select(t => new ChartPeriod(t.Start.ToString("0.#", Ci), (t.End - t.Start).ToString("0.#", Ci), t.Label)).ToList();
        var rows = points.Select(p => p.At).Distinct().Order()
            .Select(at => new ChartRow(at.ToString("yyyy-MM-dd", Ci), [.. trend.Series.Select(s =>
                s.Points.Where(p => p.At == at).Select(p => p.Value.ToString(valueFormat, Ci)).FirstOrDefault() ?? "")]))
            .ToList();
        var latest = trend.Series.Select(s => $"{s.Name} {s.Points[^1].Value.ToString(valueFormat, Ci)}");
        var summary = $"{trend.Title}: {points.Count} values from {first.ToString(dates, Ci)} to {last.ToString(dates, Ci)}; latest {string.Join(", ", latest)} {trend.Unit}" +
            (periods.Count > 0 ? $"; {periods.Count} treatment periods shaded" : "");
        var id = new string([.. trend.Title.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit)]);
        var (lowest, highest) = (low + pad, high - pad);
        return new Chart(id, summary, Label(lowest, Y(lowest), valueFormat), Label(highest, Y(highest), valueFormat), first.ToString(dates, Ci), last.ToString(dates, Ci),
            lines, periods, rows);
    }

    private static AxisLabel Label(double value, double y, string format) => new(value.ToString(format, Ci), (y + 4).ToString("0.#", Ci));
}

/// <summary>A value written beside the axis at its height.</summary>
public sealed record AxisLabel(string Text, string Y);

public sealed record ChartLine(string Points, string Colour, IReadOnlyList<ChartPoint> Markers);

public sealed record ChartPoint(string X, string Y, string Label);

public sealed record ChartPeriod(string X, string Width, string Label);

public sealed record ChartRow(string Date, IReadOnlyList<string> Values);
