namespace HealthRec.Server.CdsHooks;

/// <summary>One card type's feedback in one cohort group, with its rates as ratios to the reference group's.</summary>
public sealed record CohortFeedbackView(string ServiceId, string Kind, string Subject, string Dimension, string Group, int Shown, int Accepted, int Overridden,
    double AcceptanceRate, double OverrideRate, bool Reference, double? AcceptanceRatio, double? OverrideRatio, bool Flagged, string? NotJudged);

/// <summary>
/// Feedback by cohort (issue 30): for each type of card, acceptance and override rates per sex, per age band and per
/// stated race and ethnicity, each as a ratio to the group shown that card most, flagged outside 0.8–1.25 — the
/// fairness audit's band — so that a card clinicians accept less for one group than another shows. Not judged (and never flagged) with fewer than
/// <see cref="MinimumShown"/> cards shown in either group.
/// </summary>
public static class FeedbackCohorts
{
    public const int MinimumShown = 10;

    public static string? SexOf(PatientRecord record) => Cohorts.SexOf(record.Sex);

    public static string? AgeBandOf(PatientRecord record, DateTimeOffset at) => record.AgeAt(at) is { } age ? Cohorts.AgeBandOf(age) : null;

    public static IReadOnlyList<CohortFeedbackView> Compare(IReadOnlyList<CohortFeedback> rows)
    {
        var views = new List<CohortFeedbackView>();
        foreach (var type in rows.GroupBy(r => (r.ServiceId, r.Kind, r.Subject, r.Dimension)))
        {
            var reference = type.OrderByDescending(r => r.Shown).ThenBy(r => r.Group, StringComparer.Ordinal).First();
            foreach (var r in type)
            {
                var (acceptance, overridden) = (Share(r.Accepted, r.Shown), Share(r.Overridden, r.Shown));
                if (r == reference)
                {
                    views.Add(new CohortFeedbackView(r.ServiceId, r.Kind, r.Subject, r.Dimension, r.Group, r.Shown, r.Accepted, r.Overridden, acceptance, overridden,
                        true, null, null, false, null));
                    continue;
                }

                if (r.Shown < MinimumShown || reference.Shown < MinimumShown)
                {
                    views.Add(new CohortFeedbackView(r.ServiceId, r.Kind, r.Subject, r.Dimension, r.Group, r.Shown, r.Accepted, r.Overridden, acceptance, overridden,
                        false, null, null, false, $"fewer than {MinimumShown} shown"));
                    continue;
                }

                var acceptanceRatio = ML.Evaluation.FairnessAudit.Compare(acceptance, Share(reference.Accepted, reference.Shown));
                var overrideRatio = ML.Evaluation.FairnessAudit.Compare(overridden, Share(reference.Overridden, reference.Shown));
                var flagged = acceptanceRatio.Flagged || overrideRatio.Flagged;
                // An unbounded ratio (the reference never did it, this group did) is flagged and written as null: JSON has no infinity.
                views.Add(new CohortFeedbackView(r.ServiceId, r.Kind, r.Subject, r.Dimension, r.Group, r.Shown, r.Accepted, r.Overridden, acceptance, overridden,
                    false, Finite(acceptanceRatio.Ratio), Finite(overrideRatio.Ratio), flagged, null));
            }
        }

        return views;
    }

    private static double Share(int part, int whole) => whole == 0 ? 0 : (double)part / whole;

    // Both zero: the same (no feedback in either); one zero: an unbounded ratio, flagged.
    private static double? Finite(double ratio) => double.IsFinite(ratio) ? ratio : null;
}
