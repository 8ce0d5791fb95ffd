namespace HealthRec.ML.Registry;

/// <summary>The <c>metrics.json</c> shape: fixed names, nulls left out.</summary>
public static class MetricsJson
{
    public const string FileName = "metrics.json";

    /// <summary>The figures a version's training saved for its outcome (its <c>metrics.json</c>), or null when it saved none.</summary>
    public static JsonNode? OfVersion(string versionFolder, string outcome)
    {
        var file = Path.Combine(versionFolder, FileName);
        return File.Exists(file) ? JsonNode.Parse(File.ReadAllText(file))?["outcomes"]?[outcome] : null;
    }

    public static JsonObject Of(OutcomeMetrics m)
    {
        var o = new JsonObject { ["algorithm"] = m.Algorithm, ["n"] = m.N };
        void Put(string name, double? value)
        {
            if (value is { } v && double.IsFinite(v))
            {
                o[name] = Math.Round(v, 6);
            }
        }

        if (m.Train > 0)
        {
            o["n_train"] = m.Train;
        }

        if (m.Validation > 0)
        {
            o["n_validation"] = m.Validation;
        }

        Put("prevalence", m.Prevalence);
        Put("roc_auc", m.RocAuc);
        if (m.RocAucCi is { } ci)
        {
            o["roc_auc_ci95"] = new JsonArray(Math.Round(ci.Low, 6), Math.Round(ci.High, 6));
        }

        Put("pr_auc", m.PrAuc);
        Put("brier", m.Brier);
        Put("calibration_slope", m.CalibrationSlope);
        Put("calibration_intercept", m.CalibrationIntercept);
        Put("threshold", m.Threshold);
        if (m.Confusion is { } c)
        {
            Put("accuracy", c.Accuracy);
            Put("precision", c.Precision);
            Put("recall", c.Recall);
            Put("specificity", c.Specificity);
            Put("f1", c.F1);
            o["confusion_matrix"] = new JsonObject { ["tp"] = c.TruePositives, ["fp"] = c.FalsePositives, ["tn"] = c.TrueNegatives, ["fn"] = c.FalseNegatives };
        }

        Put("mae", m.Mae);
        Put("rmse", m.Rmse);
        Put("r2", m.R2);
        if (m.Fairness is { } fairness)
        {
            o["fairness"] = Fairness(fairness);
        }

        if (m.Subgroups.Count > 0)
        {
            var subgroups = new JsonObject();
            foreach (var (name, s) in m.Subgroups)
            {
                var sub = Of(s);
                sub.Remove("algorithm");
                subgroups[name] = sub;
            }

            o["subgroups"] = subgroups;
        }

        if (m.From is { } from)
        {
            o["from"] = from.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        }

        if (m.InTheLarge is { } large)
        {
            var inTheLarge = new JsonObject { ["n_at_risk"] = large.AtRisk };
            foreach (var (name, value) in new[] { ("kaplan_meier_incidence", large.KaplanMeierIncidence), ("mean_estimate", large.MeanEstimate) })
            {
                if (double.IsFinite(value))
                {
                    inTheLarge[name] = Math.Round(value, 6);
                }
            }

            if (large.Tenths is { } tenths)
            {
                inTheLarge["by_tenth"] = new JsonArray([.. tenths.Select(t => (JsonNode)new JsonObject
                {
                    ["n"] = t.Count,
                    ["mean_estimate"] = Math.Round(t.MeanPredicted, 6),
                    ["kaplan_meier_incidence"] = double.IsFinite(t.Observed) ? Math.Round(t.Observed, 6) : null,
                })]);
            }

            o["calibration_in_the_large"] = inTheLarge;
        }

        if (m.OutOfTime is { } later)
        {
            o["out_of_time"] = Of(later);
        }

        if (m.Baselines.Count > 0)
        {
            var baselines = new JsonObject();
            foreach (var (name, b) in m.Baselines)
            {
                baselines[name] = Of(b);
            }

            o["baselines"] = baselines;
        }

        return o;
    }

    // The fairness audit: the band, and per group its rates with intervals and its ratios to the reference group.
    private static JsonObject Fairness(FairnessReport report)
    {
        static JsonNode? Number(double value) => double.IsFinite(value) ? Math.Round(value, 6) : null;
        static JsonObject RateJson(Rate rate) => new() { ["value"] = Number(rate.Value), ["ci95"] = new JsonArray(Number(rate.Low), Number(rate.High)), ["denominator"] = Number(rate.Denominator) };
        var groups = new JsonArray();
        foreach (var g in report.Groups)
        {
            var ratios = new JsonObject();
            foreach (var r in g.Ratios)
            {
                ratios[r.Metric] = new JsonObject { ["ratio"] = Number(r.Ratio), ["flagged"] = r.Flagged, ["not_judged"] = r.NotJudged };
            }

            groups.Add(new JsonObject
            {
                ["dimension"] = g.Dimension, ["group"] = g.Group, ["reference"] = g.Reference, ["n"] = g.N, ["events"] = Number(g.Events),
                ["tpr"] = RateJson(g.Tpr), ["fpr"] = RateJson(g.Fpr), ["ppv"] = RateJson(g.Ppv), ["flag_rate"] = RateJson(g.FlagRate),
                ["ratios_to_reference"] = ratios,
            });
        }

        return new JsonObject
        {
            ["threshold"] = Number(report.Threshold), ["band"] = new JsonArray(report.Low, report.High), ["minimum_count"] = report.MinimumCount,
            ["flagged"] = new JsonArray([.. report.Flagged.Select(g => (JsonNode?)JsonValue.Create($"{g.Dimension}={g.Group}"))]),
            ["groups"] = groups,
        };
    }
}
