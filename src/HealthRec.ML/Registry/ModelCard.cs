namespace HealthRec.ML.Registry;

/// <summary>The model card a reviewer reads beside each bundle.</summary>
internal static class ModelCard
{
    public static string Write(BundleManifest manifest, TrainedOutcome trained)
    {
        var d = trained.Definition;
        var m = trained.Metrics;
        var p = manifest.Provenance;
        var s = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        s.AppendLine(ci, $"# Model card: {d.Title} ({d.Id}, {manifest.Version})");
        s.AppendLine();
        if (p.Synthetic)
        {
            s.AppendLine("> **Trained on synthetic data** (HealthRec's generator). Its figures describe the synthetic population, not any real one;");
            s.AppendLine("> validate on local data before any clinical use.");
            s.AppendLine();
        }

        s.AppendLine("## Intended use");
        s.AppendLine(ci, $"An estimate of {(d.Kind == OutcomeKind.Binary ? $"the probability of: {d.Title.ToLowerInvariant()}" : d.Title.ToLowerInvariant())}, to support — not replace — a clinician's judgement in primary care. Not for diagnosis, not for patients outside the population below.");
        s.AppendLine();
        s.AppendLine("## Population and outcome");
        s.AppendLine(d.Description ?? d.Title);
        s.AppendLine();
        s.Append(ci, $"Age {d.Population.AgeRange}");
        s.Append(d.Population.RequireConditionGroups.IsEmpty ? "" : $"; with {string.Join(", ", d.Population.RequireConditionGroups)}");
        s.Append(d.Population.ExcludeConditionGroups.IsEmpty ? "" : $"; without {string.Join(", ", d.Population.ExcludeConditionGroups)} at the index date");
        s.AppendLine(d.Kind == OutcomeKind.Binary
            ? string.Create(ci, $"; horizon {d.HorizonDays} days. Death without the event is a competing event (a negative); a living patient is followed to the end of the data or {d.FollowUpGraceDays} days after their last contact, whichever comes first; shorter follow-up than {d.MinFollowUpDays ?? d.HorizonDays} days without the event is censored and enters through inverse-probability-of-censoring weights (IPCW).")
            : ".");
        s.AppendLine(d.Landmarks.At == LandmarkAnchor.Discharge
            ? string.Create(ci, $"Index dates: each discharge from an encounter of class {string.Join(" or ", d.Landmarks.EncounterClasses)}, at most {d.Landmarks.MaxPerPatient} per patient.")
            : string.Create(ci, $"Index dates: the first {d.Landmarks.FirstAfterDays} days after a patient's first recorded activity, then every {d.Landmarks.EveryDays} days, at most {d.Landmarks.MaxPerPatient} per patient."));
        s.AppendLine();
        s.AppendLine("## Data");
        var counts = trained.Counts;
        s.Append(ci, $"- source: `{p.Input}` (SHA-256 `{p.DataSha256}`), {counts.Patients:N0} patients, {counts.Landmarks:N0} index dates: {counts.NotAtRisk:N0} not at risk, ");
        s.Append(d.Kind == OutcomeKind.Binary ? string.Create(ci, $"{counts.TooRecent:N0} too close to the end of the data for the horizon, ") : "");
        s.Append(ci, $"{counts.Censored:N0} censored, {counts.Usable:N0} used");
        s.AppendLine(d.Kind == OutcomeKind.Binary
            ? string.Create(ci, $" ({counts.Positives:N0} with the event); {counts.FollowedShare:P0} of at-risk index dates still followed at the horizon (Kaplan–Meier of censoring), so a negative's weight is {1 / counts.FollowedShare:0.00}.")
            : ".");
        s.AppendLine(ci, $"- split by patient (no patient in two sets): {m.Train:N0} training, {m.Validation:N0} validation, {m.N:N0} test examples; seed {p.Seed}.");
        s.AppendLine(ci, $"- features: `{p.FeatureSchemaId}` {p.FeatureSchemaVersion}, {manifest.FeatureNames.Length} columns; the most used: {string.Join(", ", trained.Importance.Take(8).Select(x => string.Create(ci, $"{x.Name} ({x.Gain:P0})")))}.");
        s.AppendLine(ci, $"- command: `{p.Command}`");
        if (manifest.DemographicsOnly)
        {
            s.AppendLine();
            s.AppendLine($"> **Warning.** {BundleManifest.DemographicsOnlyWarning}");
        }

        s.AppendLine();
        s.AppendLine("## Model");
        s.Append(ci, $"LightGBM, {trained.Parameters.Leaves} leaves, learning rate {trained.Parameters.LearningRate}, {trained.Parameters.Iterations} trees (early stopping on validation), at least {trained.Parameters.MinExamplesPerLeaf} examples per leaf, feature fraction {trained.Parameters.FeatureFraction}");
        s.AppendLine(manifest.Calibrator is null ? "." : string.Create(ci,
            $"; probabilities calibrated on validation by {(manifest.Calibrator is IsotonicCalibrator ? "isotonic regression" : "Platt scaling")}; operating threshold {manifest.Threshold:0.000} ({d.Threshold.Policy.ToString().ToLowerInvariant()} on validation)."));
        s.AppendLine();
        s.AppendLine("## Test metrics");
        s.AppendLine();
        if (d.Kind == OutcomeKind.Binary)
        {
            s.AppendLine("| model | ROC-AUC (95 % CI) | PR-AUC | Brier | calibration slope / intercept |");
            s.AppendLine("| --- | --- | --- | --- | --- |");
            foreach (var x in new[] { m }.Concat(m.Baselines.Values))
            {
                var interval = x.RocAucCi is { } c ? string.Create(ci, $" ({c.Low:0.000}–{c.High:0.000})") : "";
                var algorithm = x.N == m.N ? x.Algorithm : string.Create(ci, $"{x.Algorithm} (the {x.N:N0} test examples it gives a figure for)");
                s.AppendLine(ci, $"| {algorithm} | {x.RocAuc:0.000}{interval} | {x.PrAuc:0.000} | {x.Brier:0.0000} | {x.CalibrationSlope:0.00} / {x.CalibrationIntercept:0.00} |");
            }

            if (m.Confusion is { } cm)
            {
                s.AppendLine();
                s.AppendLine(ci, $"At the threshold: sensitivity {cm.Recall:P0}, specificity {cm.Specificity:P0}, precision {cm.Precision:P0}, F1 {cm.F1:0.00} (prevalence {m.Prevalence:P1}, n = {m.N:N0}).");
            }
        }
        else
        {
            s.AppendLine("| model | MAE | RMSE | R² |");
            s.AppendLine("| --- | --- | --- | --- |");
            foreach (var x in new[] { m }.Concat(m.Baselines.Values))
            {
                s.AppendLine(ci, $"| {x.Algorithm} | {x.Mae:0.000} | {x.Rmse:0.000} | {x.R2:0.000} |");
            }
        }

        if (m.InTheLarge is { } large)
        {
            s.AppendLine();
            s.AppendLine(ci, $"Every metric above weights each example by the inverse probability of censoring (IPCW), estimating what full follow-up would have shown. Calibration against the observed risk on every at-risk index date of the test patients, censored ones included ({large.AtRisk:N0}): Kaplan–Meier (Aalen–Johansen, death competing) incidence {large.KaplanMeierIncidence:P1}, mean estimate {large.MeanEstimate:P1}.");
            if (large.Tenths is { Count: > 0 } tenths)
            {
                s.AppendLine();
                s.AppendLine("| tenth of predicted risk | n | mean estimate | observed (Kaplan–Meier) |");
                s.AppendLine("| --- | --- | --- | --- |");
                for (var i = 0; i < tenths.Count; i++)
                {
                    s.AppendLine(ci, $"| {i + 1} | {tenths[i].Count:N0} | {tenths[i].MeanPredicted:P1} | {tenths[i].Observed:P1} |");
                }
            }
        }

        if (m.OutOfTime is { } oot)
        {
            s.AppendLine();
            s.AppendLine(d.Kind == OutcomeKind.Binary
                ? string.Create(ci, $"Out-of-time check: refitted on training examples dated before {oot.From:yyyy-MM-dd} ({oot.Train:N0}), tested on {oot.N:N0} test examples from then on: ROC-AUC {oot.RocAuc:0.000}, Brier {oot.Brier:0.0000}.")
                : string.Create(ci, $"Out-of-time check: refitted on training examples dated before {oot.From:yyyy-MM-dd} ({oot.Train:N0}), tested on {oot.N:N0} test examples from then on: MAE {oot.Mae:0.000}, R² {oot.R2:0.000}."));
        }

        if (manifest.CrossValidation is { } cv)
        {
            s.AppendLine();
            s.AppendLine(ci, $"## Cross-validation ({cv.Folds} folds)");
            s.AppendLine();
            s.AppendLine(Training.CrossValidation.Describe(cv));
            s.AppendLine();
            s.AppendLine(ci, $"| model | {(cv.Metric == "roc_auc" ? "ROC-AUC" : "MAE")} mean ± SD | pooled out-of-fold | per fold |");
            s.AppendLine("| --- | --- | --- | --- |");
            foreach (var a in cv.Algorithms)
            {
                s.AppendLine(ci, $"| {a.Algorithm} | {a.Mean:0.000} ± {a.StandardDeviation:0.000} | {a.Pooled:0.000} | {string.Join(", ", a.PerFold.Select(v => v.ToString("0.000", ci)))} |");
            }
        }

        s.AppendLine();
        s.AppendLine("## Subgroups (test set)");
        s.AppendLine();
        s.AppendLine(d.Kind == OutcomeKind.Binary ? "| subgroup | n | prevalence | ROC-AUC |\n| --- | --- | --- | --- |" : "| subgroup | n | MAE | R² |\n| --- | --- | --- | --- |");
        foreach (var (name, g) in m.Subgroups)
        {
            s.AppendLine(d.Kind == OutcomeKind.Binary
                ? string.Create(ci, $"| {name} | {g.N:N0} | {g.Prevalence:P1} | {(g.RocAuc is { } auc && double.IsFinite(auc) ? auc.ToString("0.000", ci) : "— (one outcome only)")} |")
                : string.Create(ci, $"| {name} | {g.N:N0} | {g.Mae:0.000} | {g.R2:0.000} |"));
        }

        if (m.Fairness is { } fairness)
        {
            s.AppendLine();
            s.AppendLine("## Fairness at the threshold (test set)");
            s.AppendLine();
            s.AppendLine(ci, $"At the operating threshold {fairness.Threshold:0.###}: each group's rates (95 % Wilson intervals on the weighted counts) and their ratio to its dimension's largest group, flagged outside {fairness.Low}–{fairness.High}; a ratio is not judged when either group has fewer than {fairness.MinimumCount} in its denominator.");
            s.AppendLine();
            s.AppendLine("| group | n | TPR | FPR | PPV | flag rate | ratios to the reference |");
            s.AppendLine("| --- | --- | --- | --- | --- | --- | --- |");
            static string R(Rate r) => double.IsFinite(r.Value) ? string.Create(CultureInfo.InvariantCulture, $"{r.Value:P0} ({r.Low:P0}–{r.High:P0})") : "—";
            foreach (var g in fairness.Groups)
            {
                var ratios = g.Reference ? "reference" : string.Join("; ", g.Ratios.Select(r => r.NotJudged is not null ? $"{r.Metric} not judged"
                    : string.Create(CultureInfo.InvariantCulture, $"{r.Metric} {r.Ratio:0.00}{(r.Flagged ? " **flagged**" : "")}")));
                s.AppendLine(ci, $"| {g.Dimension}={g.Group} | {g.N:N0} | {R(g.Tpr)} | {R(g.Fpr)} | {R(g.Ppv)} | {R(g.FlagRate)} | {ratios} |");
            }

            var flagged = fairness.Flagged.ToList();
            s.AppendLine();
            s.AppendLine(flagged.Count == 0 ? "No group's ratio leaves the band." : $"Flagged: {string.Join(", ", flagged.Select(g => $"{g.Dimension}={g.Group}"))} — review before use in these groups.");
        }

        s.AppendLine();
        s.AppendLine("## Limitations");
        s.AppendLine("- Race and ethnicity are never model inputs: the subgroup table covers sex and age, the fairness audit race and ethnicity too where the data states them, and the Pooled Cohort Equations baseline uses the white equations for everyone.");
        s.AppendLine("- Patients followed too briefly are left out (censored); if the reasons they leave care are linked to risk, estimates may be biased.");
        s.AppendLine("- Small subgroups have wide uncertainty; the confidence interval is by patient-level bootstrap of the test set.");
        s.AppendLine("- The estimate is a statistical association, not a causal effect of any factor.");
        return s.ToString();
    }
}
