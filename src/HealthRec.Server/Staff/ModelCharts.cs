namespace HealthRec.Server.Staff;

/// <summary>A chart of a model's history and how its values are written.</summary>
public sealed record ModelChart(Trend Trend, string ValueFormat, string Note);

/// <summary>
/// A model's evaluations over time as charts for the console: discrimination and calibration (binary outcomes) or
/// error (continuous ones) from each evaluation's metrics, and drift as the largest feature PSI of each evaluation.
/// A metric no evaluation holds is left out; an outcome never evaluated has no charts.
/// </summary>
public static class ModelCharts
{
    private static readonly (string Key, string Title, string Note)[] Metrics =
    [
        ("roc_auc", "ROC AUC", "Discrimination on the newest labelled data (0.5 = chance)."),
        ("brier", "Brier score", "Mean squared error of the probabilities (lower is better)."),
        ("calibration_slope", "Calibration slope", "1 = estimates spread as outcomes do; below 1 = too extreme."),
        ("mae", "Mean absolute error", "Continuous outcome: average distance from what was observed."),
    ];

    public static IReadOnlyList<ModelChart> Of(ModelAdminView view)
    {
        var evaluations = view.Evaluations.OrderBy(e => e.EvaluatedAt).ToList();
        var charts = new List<ModelChart>();
        foreach (var (key, title, note) in Metrics)
        {
            var points = evaluations.Select(e => (e.EvaluatedAt, Value: Number(e.Metrics, key))).Where(p => p.Value is not null)
                .Select(p => (p.EvaluatedAt, p.Value!.Value)).ToList();
            if (points.Count > 0)
            {
                charts.Add(new ModelChart(new Trend(title, "", [new TrendSeries(title, points)], []), "0.###", note));
            }
        }

        var drift = evaluations.Where(e => e.Drift.Count > 0).Select(e => (e.EvaluatedAt, e.Drift.Max(d => d.Psi))).ToList();
        if (drift.Count > 0)
        {
            charts.Add(new ModelChart(new Trend("Largest feature drift (PSI)", "", [new TrendSeries("max PSI", drift)], []), "0.##",
                "Population stability index of the most shifted feature: below 0.1 stable, 0.1–0.25 watch, above 0.25 shifted."));
        }

        return charts;
    }

    private static double? Number(JsonNode? metrics, string key) =>
        metrics?[key] is JsonValue value && value.TryGetValue<double>(out var number) && double.IsFinite(number) ? number : null;
}
