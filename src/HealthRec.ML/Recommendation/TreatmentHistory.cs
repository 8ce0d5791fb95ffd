namespace HealthRec.ML.Recommendation;

/// <summary>What followed an index date for one catalog medicine, as graded relevance.</summary>
/// <param name="Grade">0 not started; 1 started; 2 started and its response analyte then fell by 5 % or more.</param>
/// <param name="ResponseChange">The response analyte's relative change after the start; NaN when not started or not measured.</param>
public readonly record struct Followed(int Grade, double ResponseChange)
{
    public static readonly Followed Nothing = new(0, double.NaN);
}

/// <summary>
/// A visit at which a patient's clinicians started catalog medicines: the record as the prescriber saw it (that day's
/// new prescriptions left out, everything else known by the end of the day kept), the time to rank at, and what was
/// started, graded.
/// </summary>
public sealed record VisitPoint(PatientRecord Record, DateTimeOffset At, Followed[] Followed);

/// <summary>
/// The history that recommenders learn from and are evaluated against: the visits at which clinicians started catalog
/// medicines, and whether those helped. A start is a prescription (MedicationRequest) dated on the visit's day whose
/// classes match the item's "already taking" classes, for a patient not already taking one of them before that day (a
/// renewal is not a start). When a prescription matches several items (a high-intensity statin is a statin start for
/// both statin items; metformin is metformin for diabetes or for prediabetes), it is credited to those whose indication
/// held at the visit, or to all of them when none did. It helped when the item's response analyte (LDL for a statin, SBP for an antihypertensive,
/// HbA1c for metformin) fell by at least 5 % — the last value in the 180 days up to the start against the first
/// 90–365 days after it. Items without a response analyte are graded 1 when started.
/// </summary>
public static class TreatmentHistory
{
    /// <summary>A fall of at least this relative size counts as the treatment helping.</summary>
    public const double HelpedChange = -0.05;

    public static Intervention[] Medicines(InterventionCatalog catalog) =>
        [.. catalog.Items.Where(i => i.Category == InterventionCategory.Medication)];

    /// <summary>
    /// The visits, at least a year after the first encounter (so there is history to go on), at which catalog medicines
    /// were started; at most <paramref name="max"/>, in time order.
    /// </summary>
    public static IEnumerable<VisitPoint> StartVisits(PatientRecord record, IReadOnlyList<Intervention> medicines, Featurizer featurizer, int max = 1)
    {
        if (record.Encounters.IsDefaultOrEmpty)
        {
            yield break;
        }

        var first = record.Encounters.Min(e => e.Start);
        var seen = new HashSet<DateTime>();
        var found = 0;
        foreach (var encounter in record.Encounters.Where(e => e.Start >= first.AddYears(1)).OrderBy(e => e.Start))
        {
            var day = encounter.Start.UtcDateTime.Date;
            if (!seen.Add(day))
            {
                continue;
            }

            var (from, to) = (new DateTimeOffset(day, TimeSpan.Zero), new DateTimeOffset(day.AddDays(1), TimeSpan.Zero));
            bool OnTheDay(MedicationEntry m) => m.Source == MedicationSource.Request && m.Start is { } s && s >= from && s < to;
            var followed = new Followed[medicines.Count];
            Array.Fill(followed, Followed.Nothing);
            var any = false;
            var view = record.WithoutMedications(OnTheDay);
            var at = to.AddSeconds(-1);
            RecordRuleContext? rules = null;
            foreach (var medication in record.Medications.Where(OnTheDay))
            {
                var matched = Enumerable.Range(0, medicines.Count).Where(i => followed[i].Grade == 0 && medicines[i].NotIfTaking.Any(medication.Classes.Contains)
                    && !record.Medications.Any(m => m.IsActiveAt(from.AddTicks(-1)) && medicines[i].NotIfTaking.Any(m.Classes.Contains))).ToList();
                if (matched.Count > 1)
                {
                    rules ??= new RecordRuleContext(view, at, featurizer);
                    var indicated = matched.Where(i => medicines[i].Indication.Rule.Evaluate(rules)).ToList();
                    matched = indicated.Count > 0 ? indicated : matched;
                }

                foreach (var i in matched)
                {
                    var change = ResponseChange(record, medicines[i].Response, medication.Start!.Value);
                    followed[i] = new Followed(change <= HelpedChange ? 2 : 1, change);
                    any = true;
                }
            }

            if (any)
            {
                yield return new VisitPoint(view, at, followed);
                if (++found == max)
                {
                    yield break;
                }
            }
        }
    }

    /// <summary>The response analyte's relative change after a start (see the class remarks); NaN when it cannot be measured.</summary>
    public static double ResponseChange(PatientRecord record, string? analyte, DateTimeOffset start)
    {
        if (analyte is null)
        {
            return double.NaN;
        }

        var values = record.MeasurementsOf(analyte);
        var before = values.LastOrDefault(m => m.At <= start && m.At > start.AddDays(-180));
        var after = values.FirstOrDefault(m => m.At >= start.AddDays(90) && m.At <= start.AddDays(365));
        return before.Value > 0 && after.Value > 0 ? (after.Value - before.Value) / before.Value : double.NaN;
    }
}
