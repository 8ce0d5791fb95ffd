
namespace HealthRec.Server.Transparency;

// The attribute values read from the outcome definition, the manifest and stored metrics (training's or an evaluation's).
public static partial class PredictiveAttributes
{
    private static string Population(OutcomeDefinition d)
    {
        var s = new StringBuilder($"Adults aged {d.Population.AgeRange}");
        if (!d.Population.RequireConditionGroups.IsEmpty)
        {
            s.Append(" with ").Append(string.Join(" or ", d.Population.RequireConditionGroups));
        }

        var excluded = d.Population.ExcludeConditionGroups.Concat(d.Target.ConditionGroups).Distinct(StringComparer.Ordinal).ToList();
        if (excluded.Count > 0 && d.Kind == OutcomeKind.Binary)
        {
            s.Append(" without ").Append(string.Join(" or ", excluded)).Append(" at the index date");
        }

        return s.ToString();
    }

    private static string Inclusion(OutcomeDefinition d, BundleManifest m)
    {
        var s = new StringBuilder(Population(d)).Append(". ");
        s.Append(d.Landmarks.At == LandmarkAnchor.Discharge
            ? string.Create(Ci, $"Index dates: each discharge from an encounter of class {string.Join(" or ", d.Landmarks.EncounterClasses)}, at most {d.Landmarks.MaxPerPatient} per patient. ")
            : string.Create(Ci, $"Index dates: {d.Landmarks.FirstAfterDays} days after a patient's first recorded activity, then every {d.Landmarks.EveryDays} days, at most {d.Landmarks.MaxPerPatient} per patient. "));
        if (d.Kind == OutcomeKind.Binary)
        {
            s.Append(string.Create(Ci, $"Horizon {d.HorizonDays} days; without the event a patient is followed until {d.FollowUpGraceDays} days after their last contact; shorter follow-up is censored"))
                .Append(m.Censoring == "ipcw" ? " and weighted back in (IPCW). " : " and left out. ");
        }

        if (m.TrainingPatientCount is { } patients)
        {
            s.Append(string.Create(Ci, $"{patients:N0} patients in training and validation."));
        }

        return s.ToString().TrimEnd();
    }

    private static string Limitations(PredictiveSubject subject, StoredEvaluation? evaluation)
    {
        var m = subject.Predictor.Manifest;
        var notes = new List<string>();
        if (subject.IsEquation)
        {
            notes.Add($"Developed for {subject.Predictor.Reference!.Population}; inputs older than their window or missing give no estimate (said on the card).");
        }
        else
        {
            if (m.Provenance.Synthetic)
            {
                notes.Add("Trained on synthetic data: its figures describe the synthetic population.");
            }

            if (m.DemographicsOnly)
            {
                notes.Add(BundleManifest.DemographicsOnlyWarning);
            }

            if (m.InTheLargeRatio is { } ratio && Math.Abs(ratio - 1) > 0.1)
            {
                notes.Add(string.Create(Ci, $"Estimates run {(ratio > 1 ? "high" : "low")} overall: mean estimate {ratio:0.00}× the observed incidence."));
            }

            notes.Add("Inputs outside the training data's range are named on the card; a record without the inputs it needs gets no estimate.");
        }

        if (evaluation is not null && !evaluation.DriftFlag.StartsWith("stable", StringComparison.Ordinal))
        {
            notes.Add($"Feature drift at the last evaluation: {evaluation.DriftFlag}.");
        }

        return string.Join(" ", notes);
    }

    private static string VariablesUsed(IReadOnlyList<string> inputs)
    {
        var used = Hti1.VariablesUsed(inputs).ToList();
        var yes = used.Where(u => u.Used.Count > 0).Select(u => $"{u.Variable} ({string.Join(", ", u.Used)})").ToList();
        var no = used.Where(u => u.Used.Count == 0).Select(u => u.Variable).ToList();
        return (yes.Count == 0 ? "Used as inputs: none of them." : $"Used as inputs: {string.Join("; ", yes)}.")
            + (no.Count == 0 ? "" : $" Not used: {string.Join(", ", no)}.");
    }

    private static string Representativeness(JsonNode? metrics, string data)
    {
        if (metrics?["subgroups"] is not JsonObject groups || groups.Count == 0)
        {
            return $"Not recorded for the {data}.";
        }

        var total = metrics["n"] is { } n ? (double)n : groups.Where(g => g.Key.StartsWith("sex=", StringComparison.Ordinal)).Sum(g => (double?)g.Value?["n"] ?? 0);
        var parts = groups.Select(g => (g.Key, N: (double?)g.Value?["n"] ?? 0)).Select(g => string.Create(Ci, $"{g.Key} {g.N:N0} ({(total > 0 ? g.N / total : 0):P0})"));
        // Race and ethnicity where the data states them: the fairness audit's group sizes.
        var stated = (metrics["fairness"]?["groups"] as JsonArray ?? []).Where(g => (string?)g?["dimension"] is "race" or "ethnicity")
            .Select(g => string.Create(Ci, $"{(string?)g!["dimension"]}={(string?)g["group"]} {(int?)g["n"]:N0} ({(total > 0 ? ((int?)g["n"] ?? 0) / total : 0):P0})")).ToList();
        return $"In the {data}: {string.Join(", ", parts.Concat(stated))}. "
            + (stated.Count > 0 ? "Language is not stated in the data." : "Race, ethnicity and language are not stated in these figures, so representativeness by them is not measured.");
    }

    private static (string, string, AttributeMeasurement?) Validity(JsonNode? m, AttributeMeasurement? at, string source, string extra = "")
    {
        if (m is null || at is null)
        {
            return ("Not recorded.", source, at);
        }

        if (m["roc_auc"] is { } auc)
        {
            var ci = m["roc_auc_ci95"] as JsonArray;
            var (low, high) = ci is { Count: 2 } ? ((double?)ci[0], (double?)ci[1]) : (null, null);
            var text = string.Create(Ci, $"ROC-AUC {(double)auc:0.000}")
                + (low is null ? "" : string.Create(Ci, $" (95 % CI {low:0.000}–{high:0.000})"))
                + string.Create(Ci, $", Brier {(double?)m["brier"]:0.0000}, calibration slope {(double?)m["calibration_slope"]:0.00}, on {(int?)m["n"]:N0} examples ({at.Window}).");
            return ((text + " " + extra).Trim(), source, at with { Metric = "roc_auc", Estimate = (double)auc, Low = low, High = high });
        }

        var mae = (double?)m["mae"];
        return ((string.Create(Ci, $"MAE {mae:0.000}, R² {(double?)m["r2"]:0.000}, on {(int?)m["n"]:N0} examples ({at.Window}).") + " " + extra).Trim(), source,
            at with { Metric = "mae", Estimate = mae });
    }

    private static (string, string, AttributeMeasurement?) Fairness(JsonNode? m, AttributeMeasurement? at, string source)
    {
        if (m?["subgroups"] is not JsonObject groups || at is null)
        {
            return ("Not recorded.", source, at);
        }

        var binary = m["roc_auc"] is not null;
        var metric = binary ? "roc_auc" : "mae";
        var rows = groups.Select(g => (Group: g.Key, Value: (double?)g.Value?[metric], Ci: g.Value?["roc_auc_ci95"] as JsonArray)).Where(r => r.Value is { } v && double.IsFinite(v)).ToList();
        if (rows.Count == 0)
        {
            return ("No subgroup was large enough to measure.", source, at);
        }

        var worst = binary ? rows.MinBy(r => r.Value) : rows.MaxBy(r => r.Value);
        var text = new StringBuilder(binary ? "Subgroup ROC-AUC: " : "Subgroup MAE: ")
            .AppendJoin(", ", rows.Select(r => string.Create(Ci, $"{r.Group} {r.Value:0.000}"))).Append('.');
        if (m["fairness"] is JsonObject audit)
        {
            var flagged = audit["flagged"] as JsonArray ?? [];
            text.Append(flagged.Count == 0
                ? string.Create(Ci, $" Fairness audit at threshold {(double?)audit["threshold"]:0.###}: no group outside 0.8–1.25 of its reference.")
                : $" Fairness audit: flagged {string.Join(", ", flagged.Select(f => (string?)f))} (a TPR, FPR or flag-rate ratio outside 0.8–1.25).");
        }
        else
        {
            text.Append(" No fairness audit at the threshold is stored with these figures.");
        }

        var (low, high) = worst.Ci is { Count: 2 } c ? ((double?)c[0], (double?)c[1]) : (null, null);
        return (text.ToString(), source, at with { Metric = $"worst subgroup {metric} ({worst.Group})", Estimate = worst.Value, Low = low, High = high });
    }

    private static string Cbpe(JsonNode evaluated) => (evaluated["estimated_before_labels"] is JsonObject e
        ? string.Create(Ci, $"Estimated before labels (CBPE) on {(int?)e["n"]:N0} patients not yet labelled at {(string?)e["at"]}: ROC-AUC {(double?)e["roc_auc"]:0.000}{((bool?)e["below_labelled_by_more_than_tolerance"] == true ? " — ALERT: below the labelled figure by more than the tolerance" : "")}.")
        : "") + (evaluated["reconciled"] is JsonObject r
        ? string.Create(Ci, $" Reconciled for the cohort at {(string?)r["at"]}, whose outcomes are now known: estimated {(double?)r["estimated_roc_auc"]:0.000}, realized {(double?)r["realized_roc_auc"]:0.000}.")
        : "");
}
