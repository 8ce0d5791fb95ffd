namespace HealthRec.ML.Training;

/// <summary>The checks a training run makes on its data before and beside the fit: enough follow-up, no leakage, an out-of-time refit.</summary>
public sealed partial class OutcomeTrainer
{
    /// <summary>
    /// A binary outcome needs patients known to be event-free for the whole follow-up a negative needs, and enough of
    /// them that the censoring weights stay stable; a cohort too short for the horizon is told so.
    /// </summary>
    private static void CheckFollowUp(OutcomeDefinition definition, ExampleCounts counts)
    {
        var longest = counts.LongestEventFreeDays ?? 0;
        if (counts.Negatives == 0)
        {
            var seen = counts.Usable == 0
                ? $"all {counts.TooRecent:N0} index dates at risk are closer than that to the end of the data"
                : $"{counts.TooRecent:N0} index dates are closer than that to the end of the data; the longest event-free follow-up is " +
                  $"{longest / 365.25:0.0} years; {counts.Positives:N0} usable examples have the event, {counts.Censored:N0} are censored";
            throw new TrainingException($"{definition.Id}: the cohort is too short for this outcome: no index date has {FollowUpNeeded(definition)} " +
                $"of data after it in which a patient could be followed without the event ({seen}). Give it records spanning at least " +
                $"{((definition.MinFollowUpDays ?? definition.HorizonDays) + definition.Landmarks.FirstAfterDays) / 365.25:0.#} years, or a shorter horizon.",
                tooShort: true);
        }

        if (counts.FollowedShare is { } share && share < MinFollowedShare)
        {
            throw new TrainingException($"{definition.Id}: the cohort is too short for this outcome: only {share:P1} of at-risk index dates are still " +
                $"followed after {FollowUpNeeded(definition)} (Kaplan–Meier of censoring), so each negative would stand for more than " +
                $"{1 / MinFollowedShare:0} patients. Give it longer records or a shorter horizon.", tooShort: true);
        }

        if (counts.Positives == 0)
        {
            throw new TrainingException($"{definition.Id}: no example has the event within {definition.HorizonDays} days " +
                $"({counts.Usable:N0} usable examples); nothing to learn. Check the outcome's target codes against the data.");
        }
    }

    private static string FollowUpNeeded(OutcomeDefinition definition) =>
        $"{definition.MinFollowUpDays ?? definition.HorizonDays} days";

    /// <summary>
    /// Temporal validation, when the index dates span at least three years: the chosen parameters refitted on training
    /// patients' examples dated before the last quarter of index dates, tested on test patients' examples from that
    /// last quarter. Labels of the earlier examples may reach past the cut-off (their horizon does): this checks drift
    /// over calendar time, not leakage, which the patient split and the feature windows already exclude.
    /// </summary>
    private OutcomeMetrics? OutOfTime(MLContext ml, OutcomeDefinition definition, LightGbmParameters parameters, Microsoft.ML.Data.SchemaDefinition schema,
        List<OutcomeExample> train, List<OutcomeExample> validation, List<OutcomeExample> test)
    {
        var dates = train.Concat(validation).Concat(test).Select(e => e.IndexAt).Order().ToList();
        if ((dates[^1] - dates[0]).TotalDays < 3 * 365.25)
        {
            return null;
        }

        var cutoff = dates[(int)(dates.Count * 0.75)];
        var early = train.Where(e => e.IndexAt < cutoff).ToList();
        var earlyValidation = validation.Where(e => e.IndexAt < cutoff).ToList();
        var late = test.Where(e => e.IndexAt >= cutoff).ToList();
        var binary = definition.Kind == OutcomeKind.Binary;
        bool Both(List<OutcomeExample> part) => !binary || (part.Exists(e => e.Label) && part.Exists(e => !e.Label));
        if (late.Count < 50 || early.Count < 100 || earlyValidation.Count < 20 || !Both(early) || !Both(earlyValidation) || !Both(late))
        {
            return null;
        }

        IDataView Load(List<OutcomeExample> part) => ml.Data.LoadFromEnumerable(
            part.Select(e => new ModelRow { Features = e.Features, Label = e.Label, Value = e.Value, Weight = (float)e.Weight }), schema);
        var model = Fit(ml, definition, parameters, Load(early), Load(earlyValidation));
        var scores = Scores(ml, model, Load(late));
        var metrics = binary
            ? OutcomeMetrics.Binary("lightgbm", late, [.. scores.Select(Calibrator.Choose(Scores(ml, model, Load(earlyValidation)), [.. earlyValidation.Select(e => e.Label)], [.. earlyValidation.Select(e => e.Weight)]).Probability)], null)
            : OutcomeMetrics.Regression("lightgbm", late, scores);
        metrics.From = cutoff;
        metrics.Train = early.Count;
        return metrics;
    }

    /// <summary>
    /// A feature that alone ranks the training labels (almost) perfectly is a copy of the label, not a predictor:
    /// training stops and names it.
    /// </summary>
    private void GuardAgainstLeakage(OutcomeDefinition definition, List<OutcomeExample> train)
    {
        var labels = train.Select(e => e.Label).ToArray();
        var column = new double[train.Count];
        for (var f = 0; f < featurizer.Width; f++)
        {
            for (var i = 0; i < train.Count; i++)
            {
                var v = train[i].Features[f];
                column[i] = float.IsNaN(v) ? double.MinValue : v;
            }

            var auc = BinaryMetrics.RocAuc(column, labels);
            if (auc is >= 0.995 or <= 0.005)
            {
                throw new TrainingException($"{definition.Id}: feature '{featurizer.Names[f]}' alone separates the outcome in training " +
                    $"(ROC-AUC {auc:0.000}): it must be reading the label or the future. Remove it from the feature schema or fix its window.");
            }
        }
    }
}
