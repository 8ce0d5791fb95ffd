using HealthRec.Clinical.Features;
using HealthRec.Clinical.Outcomes;
using HealthRec.Clinical.Records;
using HealthRec.Clinical.Risk;

namespace HealthRec.ML.Training;

/// <summary>One patient at one index date: the features then, and what happened after.</summary>
public sealed record OutcomeExample(
    string PatientId,
    DateTimeOffset IndexAt,
    float[] Features,
    bool Label,
    float Value,
    Sex Sex,
    double Age,
    double PooledCohortRisk);

/// <summary>
/// One landmark of a patient at risk of a binary outcome, censored or not: the features, and the days to the event or to
/// the end of follow-up (at most the horizon) — the input of a survival estimate of the population's incidence.
/// </summary>
public sealed record AtRiskExample(string PatientId, DateTimeOffset IndexAt, float[] Features, double Days, bool Event);

/// <summary>What labelling found, for the model card: how many landmarks were usable, censored or not at risk.</summary>
public sealed record ExampleCounts(int Patients, int Landmarks, int NotAtRisk, int Censored, int Usable, int Positives);

/// <summary>
/// Builds the examples of an outcome: each patient's landmarks (the definition's policy), labelled by the definition,
/// featurized at the landmark. Features read only (index − window, index]; labels read only what came after.
/// </summary>
public static class OutcomeExamples
{
    public static (List<OutcomeExample> Examples, ExampleCounts Counts) Build(IEnumerable<PatientRecord> records, OutcomeDefinition definition, Featurizer featurizer)
    {
        var labeler = new OutcomeLabeler(definition);
        var examples = new List<OutcomeExample>();
        int patients = 0, landmarks = 0, notAtRisk = 0, censored = 0, positives = 0;
        foreach (var record in records)
        {
            patients++;
            foreach (var at in labeler.Landmarks(record))
            {
                landmarks++;
                var label = labeler.Label(record, at);
                switch (label.Status)
                {
                    case LabelStatus.NotAtRisk:
                        notAtRisk++;
                        continue;
                    case LabelStatus.Censored:
                        censored++;
                        continue;
                }

                var positive = label.Status == LabelStatus.Positive;
                positives += positive ? 1 : 0;
                examples.Add(new OutcomeExample(record.PatientId, at, featurizer.Featurize(record, at), positive, (float)(label.Value ?? 0),
                    record.Sex, record.AgeAt(at) ?? double.NaN, definition.PooledCohortBaseline ? PooledCohortRisk(record, at) : double.NaN));
            }
        }

        return (examples, new ExampleCounts(patients, landmarks, notAtRisk, censored, examples.Count, positives));
    }

    /// <summary>
    /// Every at-risk landmark of a binary outcome — the usable ones and the censored ones — with its time to the event or
    /// to the end of follow-up, capped at the horizon. Complete-case training keeps only the usable ones; the
    /// Kaplan–Meier incidence over all of them is what the population's risk really is.
    /// </summary>
    public static List<AtRiskExample> AtRisk(IEnumerable<PatientRecord> records, OutcomeDefinition definition, Featurizer featurizer)
    {
        var labeler = new OutcomeLabeler(definition);
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
                    LabelStatus.Negative => definition.HorizonDays,
                    LabelStatus.Censored => Math.Clamp((label.FollowedUntil!.Value - at).TotalDays, 0, definition.HorizonDays),
                    _ => null,
                };
                if (days is { } d)
                {
                    found.Add(new AtRiskExample(record.PatientId, at, featurizer.Featurize(record, at), d, label.Status == LabelStatus.Positive));
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
        double Last(string analyte, double fallback)
        {
            var value = fallback;
            foreach (var m in record.MeasurementsOf(analyte))
            {
                if (m.At <= at && m.At > at.AddYears(-2))
                {
                    value = m.Value;
                }
            }

            return value;
        }

        var treated = record.Medications.Any(m => m.IsActiveAt(at)
            && m.Classes.Any(c => c is "ace-inhibitor" or "arb" or "thiazide" or "ccb" or "beta-blocker"));
        var diabetic = record.Conditions.Any(c => c.IsActiveAt(at) && c.Groups.Contains("t2d"));
        var smoker = Last("smoking_status", 0) >= 2;
        var age = Math.Clamp(record.AgeAt(at) ?? 55, 40, 79);
        return PooledCohortEquations.TenYearRisk(record.Sex == Sex.Female, black: false, age, Last("total_cholesterol", 200),
            Last("hdl", 50), Last("sbp", 130), treated, smoker, diabetic);
    }
}
