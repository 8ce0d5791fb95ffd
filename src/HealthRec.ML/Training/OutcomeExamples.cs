namespace HealthRec.ML.Training;

/// <summary>
/// One patient at one index date: the features then, and what happened after. <see cref="Weight"/> is the example's
/// inverse probability of censoring weight (binary outcomes; 1 for regression): how many patients like it, censored
/// before the horizon, it stands for.
/// </summary>
public sealed record OutcomeExample(
    string PatientId,
    DateTimeOffset IndexAt,
    float[] Features,
    bool Label,
    float Value,
    Sex Sex,
    double Age,
    double PooledCohortRisk)
{
    public double Weight { get; init; } = 1;

    /// <summary>The outcome's reference equation at the index date (NaN when it has none, or gives no number for this patient).</summary>
    public double ReferenceRisk { get; init; } = double.NaN;

    /// <summary>The record's stated race and ethnicity (OMB categories), for the fairness audit only; null when not stated.</summary>
    public string? Race { get; init; }

    public string? Ethnicity { get; init; }
}

/// <summary>
/// One landmark of a patient at risk of a binary outcome, censored or not: the features, and the days to the event, to
/// death without it (<see cref="Died"/>, a competing event) or to the end of follow-up (at most the horizon) — the input
/// of the Aalen–Johansen estimate of the population's incidence.
/// </summary>
public sealed record AtRiskExample(string PatientId, DateTimeOffset IndexAt, float[] Features, double Days, bool Event, bool Died = false)
{
    public SurvivalOutcome Outcome => new(Days, Event, Died);
}

/// <summary>
/// What labelling found, for the model card: how many landmarks were usable, censored or not at risk; for a binary
/// outcome also the Kaplan–Meier share of at-risk landmarks still followed at the end of the follow-up a negative needs
/// (<see cref="FollowedShare"/>, the G(horizon) the weights divide by) and the longest follow-up without the event.
/// </summary>
public sealed record ExampleCounts(int Patients, int Landmarks, int NotAtRisk, int Censored, int Usable, int Positives)
{
    public double? FollowedShare { get; init; }

    public double? LongestEventFreeDays { get; init; }

    /// <summary>Binary outcomes: index dates left out because the data ends before their follow-up could (see <see cref="OutcomeExamples.Build"/>).</summary>
    public int TooRecent { get; init; }

    /// <summary>Usable examples without the event.</summary>
    public int Negatives => Usable - Positives;
}

/// <summary>
/// Builds the examples of an outcome: each patient's landmarks (the definition's policy), labelled by the definition,
/// featurized at the landmark. Features read only (index − window, index]; labels read only what came after.
/// </summary>
public static class OutcomeExamples
{
    /// <summary>
    /// The usable examples (binary: with the event by the horizon, or followed event-free for the whole of it;
    /// regression: with the value), each weighted by the inverse probability of censoring (IPCW): examples censored
    /// before the horizon cannot be labelled, so those that could are weighted up by 1 / G, where G is the Kaplan–Meier
    /// probability of still being followed — at the event time for an event (G(t−)), at the end of the needed follow-up
    /// for a negative. Dropping the censored without weights would over-represent events (an event is seen as soon
    /// as it happens; a negative needs the whole horizon); with the weights, the weighted event rate estimates the
    /// population's risk by the horizon, as Kaplan–Meier does. G is estimated over every at-risk landmark of
    /// <paramref name="records"/>, assuming censoring does not depend on the patient's risk (a stated limitation).
    /// Index dates closer to the end of the data than the follow-up a negative needs are left out whatever their
    /// outcome: none of them could be a negative, so their events alone would teach that such records (late index
    /// dates, long histories) are events — the weights need every example to have had a chance of full follow-up.
    /// </summary>
    public static (List<OutcomeExample> Examples, ExampleCounts Counts) Build(IReadOnlyCollection<PatientRecord> records, OutcomeDefinition definition, Featurizer featurizer)
    {
        var dataEnd = OutcomeLabeler.EndOf(records);
        var reference = definition.Reference is { } id && ReferenceModels.All.TryGetValue(id, out var found) ? found : null;
        var labeler = new OutcomeLabeler(definition, dataEnd);
        var examples = new List<OutcomeExample>();
        var days = new List<double>();
        var censoring = new List<(double Time, bool Censored)>();
        var needed = (double)(definition.MinFollowUpDays ?? definition.HorizonDays);
        int patients = 0, landmarks = 0, notAtRisk = 0, censored = 0, positives = 0, tooRecent = 0;
        double longestEventFree = 0;
        foreach (var record in records)
        {
            patients++;
            foreach (var at in labeler.Landmarks(record))
            {
                landmarks++;
                var label = labeler.Label(record, at);
                if (definition.Kind == OutcomeKind.Binary && label.Status != LabelStatus.NotAtRisk && dataEnd is { } end && at.AddDays(needed) > end)
                {
                    tooRecent++;
                    continue;
                }

                switch (label.Status)
                {
                    case LabelStatus.NotAtRisk:
                        notAtRisk++;
                        continue;
                    case LabelStatus.Censored:
                        censored++;
                        if (label.FollowedUntil is { } until)
                        {
                            var followed = Math.Max(0, (until - at).TotalDays);
                            censoring.Add((followed, true));
                            longestEventFree = Math.Max(longestEventFree, followed);
                        }

                        continue;
                }

                var positive = label.Status == LabelStatus.Positive;
                positives += positive ? 1 : 0;
                var time = positive ? (label.EventAt!.Value - at).TotalDays
                    : label.Died ? Math.Min(needed, (label.FollowedUntil!.Value - at).TotalDays) : needed;
                if (label.Status == LabelStatus.Negative)
                {
                    longestEventFree = Math.Max(longestEventFree, (label.FollowedUntil!.Value - at).TotalDays);
                }

                censoring.Add((time, false));
                days.Add(time);
                examples.Add(new OutcomeExample(record.PatientId, at, featurizer.Featurize(record, at), positive, (float)(label.Value ?? 0),
                    record.Sex, record.AgeAt(at) ?? double.NaN, definition.PooledCohortBaseline ? PooledCohortRisk(record, at) : double.NaN)
                {
                    ReferenceRisk = reference?.Evaluate(record, at).Estimate ?? double.NaN,
                    Race = record.Race,
                    Ethnicity = record.Ethnicity,
                });
            }
        }

        var counts = new ExampleCounts(patients, landmarks, notAtRisk, censored, examples.Count, positives);
        if (definition.Kind != OutcomeKind.Binary)
        {
            return (examples, counts);
        }

        var g = new CensoringSurvival(censoring);
        for (var i = 0; i < examples.Count; i++)
        {
            // Observed at the event or a death (G just before it), or event-free at the end of the needed follow-up.
            var stillFollowed = days[i] < needed ? g.Before(days[i]) : g.At(needed);
            examples[i] = examples[i] with { Weight = stillFollowed > 0 ? 1 / stillFollowed : 0 };
        }

        return (examples, counts with { FollowedShare = g.At(needed), LongestEventFreeDays = longestEventFree, TooRecent = tooRecent });
    }

    /// <summary>
    /// Every at-risk landmark of a binary outcome — the usable ones and the censored ones — with its time to the event,
    /// to death without it, or to the end of follow-up, capped at the horizon: the Aalen–Johansen incidence over all of
    /// them is the population's observed risk, which estimates are checked against.
    /// </summary>
    public static List<AtRiskExample> AtRisk(IReadOnlyCollection<PatientRecord> records, OutcomeDefinition definition, Featurizer featurizer)
    {
        var labeler = new OutcomeLabeler(definition, OutcomeLabeler.EndOf(records));
        var found = new List<AtRiskExample>();
        if (definition.Kind != OutcomeKind.Binary)
        {
            return found;
        }

        foreach (var record in records)
        {
            foreach (var at in labeler.Landmarks(record))
            {
                var label = labeler.Label(record, at);
                double? days = label.Status switch
                {
                    LabelStatus.Positive => (label.EventAt!.Value - at).TotalDays,
                    LabelStatus.Negative when label.Died => Math.Clamp((label.FollowedUntil!.Value - at).TotalDays, 0, definition.HorizonDays),
                    LabelStatus.Negative => definition.HorizonDays,
                    LabelStatus.Censored => Math.Clamp((label.FollowedUntil!.Value - at).TotalDays, 0, definition.HorizonDays),
                    _ => null,
                };
                if (days is { } d)
                {
                    found.Add(new AtRiskExample(record.PatientId, at, featurizer.Featurize(record, at), d, label.Status == LabelStatus.Positive, label.Died));
                }
            }
        }

        return found;
    }

    /// <summary>
    /// The Pooled Cohort Equations at the index date from the record: the last total cholesterol, HDL and systolic
    /// pressure of the past two years (population medians 200 mg/dL, 50 mg/dL and 130 mmHg when none, as a clinician
    /// calculating without them would assume), current smoking from the last recorded status, treated pressure from an
    /// active antihypertensive, diabetes from an active diagnosis. Race is not in the record: the white equations are
    /// used for everyone (a stated limitation).
    /// </summary>
    public static double PooledCohortRisk(PatientRecord record, DateTimeOffset at)
    {
        double Last(string analyte, double fallback) =>
            record.LatestOf(analyte, at) is { } m && m.At > at.AddYears(-2) ? m.Value : fallback;

        var treated = record.TakesAnyOf(ReferenceModel.Antihypertensives, at);
        var diabetic = record.HasActiveCondition("t2d", at);
        var smoker = Last("smoking_status", 0) >= 2;
        var age = Math.Clamp(record.AgeAt(at) ?? 55, 40, 79);
        return PooledCohortEquations.TenYearRisk(record.Sex == Sex.Female, black: false, age, Last("total_cholesterol", 200),
            Last("hdl", 50), Last("sbp", 130), treated, smoker, diabetic);
    }
}
