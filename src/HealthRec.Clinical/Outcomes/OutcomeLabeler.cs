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
/// binary outcome without the event, <see cref="FollowedUntil"/> is the last day the record follows the patient — what
/// a survival estimate needs of the censored — and <see cref="Died"/> says it ended by death within the horizon (a
/// competing event: a negative, since the event can no longer happen).
/// </summary>
public readonly record struct OutcomeLabel(LabelStatus Status, DateTimeOffset? EventAt = null, double? Value = null, DateTimeOffset? FollowedUntil = null,
    bool Died = false)
{
    public bool IsUsable => Status is LabelStatus.Positive or LabelStatus.Negative or LabelStatus.Value;
}

/// <summary>
/// Labels patient timelines for an outcome definition. Eligibility reads only what began on or before the index
/// date; the label reads only what came after it; a patient without the event counts as negative only when followed
/// for the whole minimum follow-up (otherwise censored) — so no example learns from a future it could not have seen,
/// and none is a false negative for lack of follow-up.
/// </summary>
/// <remarks>
/// Death without the event within the horizon (for an outcome that is not death itself) is a competing event, not a censoring: the patient is a negative (the
/// event can no longer happen), so estimates are absolute risks in a population that also dies of other causes — as
/// PREVENT's are — and the observed risk they are checked against is the Aalen–Johansen cumulative incidence (which is
/// 1 − Kaplan–Meier when nobody dies). Treating deaths as censored instead would ask what the risk would be if nobody
/// died, and, since death depends on the same risk factors, would bias any model trained on the survivors upwards.
///
/// How far a record follows a living patient: to the end of the data (<paramref name="dataEnd"/>, the extract's last
/// date), but no further than <see cref="OutcomeDefinition.FollowUpGraceDays"/> after their last recorded activity — a
/// patient not seen for longer is taken as gone from the practice since that last contact. Ending everyone's
/// follow-up at their last contact instead would make censoring depend on the outcome: an event brings the patient
/// in (the admission, the follow-up visits), so event-free patients would be censored early and events
/// over-represented, which no weighting can undo. Without a data end (a single record), follow-up ends at the last
/// activity.
/// </remarks>
public sealed class OutcomeLabeler(OutcomeDefinition definition, DateTimeOffset? dataEnd = null)
{
    public OutcomeDefinition Definition { get; } = definition;

    /// <summary>The last date of the data set the record comes from, when known.</summary>
    public DateTimeOffset? DataEnd { get; } = dataEnd;

    /// <summary>The latest activity across records: the end of a data set's follow-up.</summary>
    public static DateTimeOffset? EndOf(IEnumerable<PatientRecord> records)
    {
        DateTimeOffset? end = null;
        foreach (var record in records)
        {
            if (record.LastActivity is { } last && (end is null || last > end))
            {
                end = last;
            }
        }

        return end;
    }

    public OutcomeLabel Label(PatientRecord record, DateTimeOffset indexAt)
    {
        var population = Definition.Population;
        if (population.AgeMatters && (record.AgeAt(indexAt) is not { } age || age < population.MinAge || age > population.MaxAge))
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

        foreach (var procedure in record.Procedures)
        {
            if (procedure.At > indexAt && procedure.At <= horizonEnd && target.ProcedureGroups.Any(procedure.Groups.Contains) && (eventAt is null || procedure.At < eventAt))
            {
                eventAt = procedure.At;
            }
        }

        foreach (var encounter in record.Encounters)
        {
            if (encounter.Start > indexAt && encounter.Start <= horizonEnd && encounter.Class is { } encounterClass
                && target.EncounterClasses.Contains(encounterClass) && (eventAt is null || encounter.Start < eventAt))
            {
                eventAt = encounter.Start;
            }
        }

        if (target.Death && record.DeceasedAt is { } deceased && deceased <= horizonEnd && (eventAt is null || deceased < eventAt))
        {
            if (target.DeathCauses.IsEmpty || record.DeathCauseGroups is { } causes && causes.Any(target.DeathCauses.Contains))
            {
                eventAt = deceased;
            }
            else if (record.DeathCauseGroups is null)
            {
                // A cause-specific death outcome and no recorded cause: unknown whether it was the event.
                return new(LabelStatus.Censored, FollowedUntil: deceased);
            }
        }

        if (eventAt is not null)
        {
            return new(LabelStatus.Positive, eventAt);
        }

        if (record.DeceasedAt is { } death && death <= horizonEnd)
        {
            return new(LabelStatus.Negative, FollowedUntil: death, Died: true);
        }

        var followedUntil = FollowedUntil(record);
        return followedUntil >= indexAt.AddDays(Definition.MinFollowUpDays ?? Definition.HorizonDays)
            ? new(LabelStatus.Negative, FollowedUntil: followedUntil)
            : new(LabelStatus.Censored, FollowedUntil: followedUntil);
    }

    /// <summary>The index dates at which this patient contributes examples (see <see cref="LandmarkPolicy"/>).</summary>
    public IEnumerable<DateTimeOffset> Landmarks(PatientRecord record)
    {
        var policy = Definition.Landmarks;
        if (policy.At == LandmarkAnchor.Discharge)
        {
            // Each discharge of the given classes, earliest first; a patient who died in hospital has no discharge.
            foreach (var discharge in record.Encounters
                .Where(e => e.End is { } end && e.Class is { } c && policy.EncounterClasses.Contains(c) && (record.DeceasedAt is null || end < record.DeceasedAt))
                .Select(e => e.End!.Value).Distinct().Order().Take(policy.MaxPerPatient))
            {
                yield return discharge;
            }

            yield break;
        }

        if (record.FirstActivity() is not { } first)
        {
            yield break;
        }

        // Index dates fall while the patient is seen: up to death or the last recorded activity.
        var end = record.DeceasedAt ?? record.LastActivity ?? DateTimeOffset.MinValue;
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

    /// <summary>
    /// How far the record follows the patient: death; else the end of the data, or the last recorded activity plus the
    /// grace period when that comes first (see the class remarks); the last activity when the data end is unknown.
    /// </summary>
    public DateTimeOffset FollowedUntil(PatientRecord record)
    {
        if (record.DeceasedAt is { } died)
        {
            return died;
        }

        if (record.LastActivity is not { } last)
        {
            return DateTimeOffset.MinValue;
        }

        if (DataEnd is not { } end || end <= last)
        {
            return last;
        }

        var grace = last.AddDays(Definition.FollowUpGraceDays);
        return grace < end ? grace : end;
    }
}
