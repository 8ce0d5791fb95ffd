using HealthRec.Clinical.Records;

namespace HealthRec.Clinical.Outcomes;

public enum LabelStatus
{
    /// <summary>Not in the population at risk at this index date (age, prevalent disease, missing requirement).</summary>
    NotAtRisk,

    /// <summary>At risk, but followed too briefly to know: neither positive nor negative.</summary>
    Censored,

    Negative,

    Positive,

    /// <summary>A regression outcome with its value.</summary>
    Value,
}

/// <summary>
/// One patient at one index date: the label, and when the event happened (binary) or the value (regression). For a
/// binary outcome without the event, <see cref="FollowedUntil"/> is the last day the record sees the patient (activity
/// or death) — what a survival estimate needs of the censored.
/// </summary>
public readonly record struct OutcomeLabel(LabelStatus Status, DateTimeOffset? EventAt = null, double? Value = null, DateTimeOffset? FollowedUntil = null)
{
    public bool IsUsable => Status is LabelStatus.Positive or LabelStatus.Negative or LabelStatus.Value;
}

/// <summary>
/// Labels patient timelines for an outcome definition. Eligibility reads only what began on or before the index
/// date; the label reads only what came after it; a patient without the event counts as negative only when followed
/// for the whole minimum follow-up (otherwise censored) — so no example learns from a future it could not have seen,
/// and none is a false negative for lack of follow-up.
/// </summary>
public sealed class OutcomeLabeler(OutcomeDefinition definition)
{
    public OutcomeDefinition Definition { get; } = definition;

    public OutcomeLabel Label(PatientRecord record, DateTimeOffset indexAt)
    {
        var population = Definition.Population;
        if (record.AgeAt(indexAt) is not { } age || age < population.MinAge || age > population.MaxAge)
        {
            return new(LabelStatus.NotAtRisk);
        }

        if (record.DeceasedAt is { } died && died <= indexAt)
        {
            return new(LabelStatus.NotAtRisk);
        }

        foreach (var group in population.RequireConditionGroups)
        {
            if (FirstOnset(record, group) is not { } onset || onset > indexAt)
            {
                return new(LabelStatus.NotAtRisk);
            }
        }

        foreach (var group in population.ExcludeConditionGroups)
        {
            if (FirstOnset(record, group) is { } onset && onset <= indexAt)
            {
                return new(LabelStatus.NotAtRisk);
            }
        }

        if (Definition.Kind == OutcomeKind.Regression)
        {
            return LabelValue(record, indexAt);
        }

        var target = Definition.Target;
        if (population.ExcludeLabCriterionMet && target.Lab is { } criterion && LabCriterionMet(record, criterion, DateTimeOffset.MinValue) is { } met && met <= indexAt)
        {
            return new(LabelStatus.NotAtRisk);
        }

        var horizonEnd = indexAt.AddDays(Definition.HorizonDays);
        DateTimeOffset? eventAt = null;
        foreach (var group in target.ConditionGroups)
        {
            foreach (var condition in record.Conditions)
            {
                if (condition.Onset is { } onset && onset > indexAt && onset <= horizonEnd && condition.Groups.Contains(group)
                    && (eventAt is null || onset < eventAt))
                {
                    eventAt = onset;
                }
            }
        }

        if (target.Lab is { } lab && LabCriterionMet(record, lab, indexAt) is { } labAt && labAt <= horizonEnd && (eventAt is null || labAt < eventAt))
        {
            eventAt = labAt;
        }

        if (eventAt is not null)
        {
            return new(LabelStatus.Positive, eventAt);
        }

        var followedUntil = FollowedUntil(record);
        return followedUntil >= indexAt.AddDays(Definition.MinFollowUpDays ?? Definition.HorizonDays)
            ? new(LabelStatus.Negative, FollowedUntil: followedUntil)
            : new(LabelStatus.Censored, FollowedUntil: followedUntil);
    }

    /// <summary>The index dates at which this patient contributes examples (see <see cref="LandmarkPolicy"/>).</summary>
    public IEnumerable<DateTimeOffset> Landmarks(PatientRecord record)
    {
        if (FirstActivity(record) is not { } first)
        {
            yield break;
        }

        var policy = Definition.Landmarks;
        var end = FollowedUntil(record);
        for (var k = 0; k < policy.MaxPerPatient; k++)
        {
            var at = first.AddDays(policy.FirstAfterDays + ((double)k * policy.EveryDays));
            if (at > end)
            {
                yield break;
            }

            yield return at;
        }
    }

    private OutcomeLabel LabelValue(PatientRecord record, DateTimeOffset indexAt)
    {
        var target = Definition.Target.Value!;
        var wanted = indexAt.AddDays(target.AtDays);
        Measurement? best = null;
        foreach (var m in record.MeasurementsOf(target.Analyte))
        {
            var distance = Math.Abs((m.At - wanted).TotalDays);
            if (m.At > indexAt && distance <= target.ToleranceDays && (best is null || distance < Math.Abs((best.Value.At - wanted).TotalDays)))
            {
                best = m;
            }
        }

        return best is { } value ? new(LabelStatus.Value, value.At, value.Value) : new(LabelStatus.Censored);
    }

    /// <summary>When the lab criterion is first met by results after <paramref name="after"/> (the confirming result's time).</summary>
    internal static DateTimeOffset? LabCriterionMet(PatientRecord record, LabCriterion criterion, DateTimeOffset after)
    {
        var hits = new List<DateTimeOffset>();
        foreach (var m in record.MeasurementsOf(criterion.Analyte))
        {
            if (m.At <= after || m.Preliminary)
            {
                continue;
            }

            var beyond = criterion.Below is { } below ? m.Value < below : m.Value >= criterion.AtLeast!.Value;
            if (!beyond)
            {
                continue;
            }

            hits.Add(m.At);
            // Confirmed by `count` results beyond the threshold, the first and the last at least minDaysApart apart.
            if (hits.Count >= criterion.Count && (m.At - hits[0]).TotalDays >= criterion.MinDaysApart)
            {
                return m.At;
            }
        }

        return null;
    }

    private static DateTimeOffset? FirstOnset(PatientRecord record, string group)
    {
        DateTimeOffset? first = null;
        foreach (var condition in record.Conditions)
        {
            if (condition.Onset is { } onset && condition.Groups.Contains(group) && (first is null || onset < first))
            {
                first = onset;
            }
        }

        return first;
    }

    /// <summary>How far the record follows the patient: death, or the last recorded activity.</summary>
    internal static DateTimeOffset FollowedUntil(PatientRecord record) =>
        record.DeceasedAt ?? record.LastActivity ?? DateTimeOffset.MinValue;

    private static DateTimeOffset? FirstActivity(PatientRecord record)
    {
        DateTimeOffset? first = null;
        foreach (var encounter in record.Encounters)
        {
            if (first is null || encounter.Start < first)
            {
                first = encounter.Start;
            }
        }

        foreach (var list in record.Measurements.Values)
        {
            if (!list.IsEmpty && (first is null || list[0].At < first))
            {
                first = list[0].At;
            }
        }

        return first;
    }
}
