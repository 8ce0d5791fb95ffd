namespace HealthRec.Clinical.Knowledge;

public enum InterventionCategory
{
    Medication,
    Lifestyle,
    Screening,
    Referral,
}

/// <summary>The guideline behind an intervention: what it says, how strongly, where to read it.</summary>
public sealed record Evidence(string Label, string Recommendation, string Strength, string Citation, string Url);

/// <summary>The effect the catalog states for an outcome (a relative risk), used to re-score the outcome model.</summary>
public sealed record StatedEffect(string Outcome, double RelativeRisk, string Source);

/// <summary>A rule with the words a clinician reads when it fires.</summary>
public sealed record RuleWithReason(Rule Rule, string Reason);

/// <summary>
/// One suggestion HealthRec can make (an ActivityDefinition in <c>data/knowledge</c>): what it would create, for whom,
/// never for whom, and on what evidence.
/// </summary>
public sealed record Intervention
{
    public required string Id { get; init; }

    public required string Title { get; init; }

    public required InterventionCategory Category { get; init; }

    /// <summary>Its group for de-duplication (e.g. <c>statin</c>, <c>raas-blocker</c>): two suggestions of one group are never shown together.</summary>
    public required string Class { get; init; }

    /// <summary>MedicationRequest or ServiceRequest, created with <c>intent=proposal</c>.</summary>
    public required string ResourceType { get; init; }

    public required string CodeSystem { get; init; }

    public required string Code { get; init; }

    public required string Display { get; init; }

    public string? Dosage { get; init; }

    /// <summary>The outcomes it addresses (ids of outcome definitions).</summary>
    public ImmutableArray<string> Addresses { get; init; } = [];

    /// <summary>
    /// Condition groups the item exists to prevent (e.g. <c>t2d</c> for a diabetes prevention programme): never suggested
    /// to a patient who has or had one of them.
    /// </summary>
    public ImmutableArray<string> Prevents { get; init; } = [];

    public required RuleWithReason Indication { get; init; }

    /// <summary>
    /// Where a medicine may be offered without its indication, because similar patients were started on it: a zone the
    /// guideline itself leaves to judgement (a 10-year risk of 5–7.5 % for a moderate-intensity statin, with risk
    /// enhancers). Null: offered only where indicated.
    /// </summary>
    public RuleWithReason? Consider { get; init; }

    public ImmutableArray<RuleWithReason> Contraindications { get; init; } = [];

    public ImmutableArray<RuleWithReason> Cautions { get; init; } = [];

    /// <summary>Medication classes that mean "already on it" (or a duplicate of it).</summary>
    public ImmutableArray<string> NotIfTaking { get; init; } = [];

    /// <summary>An analyte measured within so many days means "done recently"; its title is what the reason names.</summary>
    public (string Analyte, int Days, string Title)? NotIfMeasuredWithin { get; init; }

    public ImmutableArray<StatedEffect> Effects { get; init; } = [];

    /// <summary>The analyte whose fall after starting shows the intervention working for a patient (e.g. LDL for a statin).</summary>
    public string? Response { get; init; }

    /// <summary>The response analyte as the terminology titles it ("HbA1c", "LDL cholesterol"), for reasons a clinician reads.</summary>
    public string? ResponseTitle { get; init; }

    public ImmutableArray<Evidence> Evidence { get; init; } = [];

    /// <summary>The evidence for <see cref="Consider"/>'s zone: what an item offered there rests on instead.</summary>
    public ImmutableArray<Evidence> ConsiderEvidence { get; init; } = [];

    /// <summary>When the catalog entry was last revised (its ActivityDefinition's <c>date</c>, else the catalog Bundle's <c>timestamp</c>).</summary>
    public DateTimeOffset? Revised { get; init; }
}

/// <summary>Why an intervention may not be suggested for a patient now (the hard filters; rules, never learned).</summary>
public sealed record Exclusion(string InterventionId, string Reason);

/// <summary>
/// The validated catalog, and the hard safety filters every suggestion passes. With <see cref="Safety"/> (the
/// medication-safety knowledge base), every medicine is checked as an order of it would be: a medicine the patient is
/// allergic to, that a rule speaks against, that interacts with or duplicates what is taken, or whose safety cannot be
/// established (an input missing, too old or unreadable) is never suggested.
/// </summary>
public sealed class InterventionCatalog(ImmutableArray<Intervention> items, Safety.MedicationSafety? safety = null)
{
    public ImmutableArray<Intervention> Items { get; } = items;

    public Safety.MedicationSafety? Safety { get; } = safety;

    /// <summary>
    /// Why this server makes no suggestions at all (its catalog does not fit the site's feature schema or outcomes), or
    /// null: said on every recommendations card rather than left as silence.
    /// </summary>
    public string? Off { get; private init; }

    /// <summary>A catalog with no items, saying why, that still carries the medication-safety checks of draft orders.</summary>
    public static InterventionCatalog Disabled(string why, Safety.MedicationSafety? safety) => new([], safety) { Off = why };

    /// <summary>
    /// The youngest age the catalog is for: every item's indication, effect and evidence come from adult guidelines and
    /// trials (blood-pressure thresholds, statin and metformin indications), none of which apply to children.
    /// </summary>
    public const int MinimumAge = 18;

    /// <summary>Why the catalog makes no suggestion for a patient of <paramref name="age"/> years, or null when it is for them.</summary>
    public static string? NotFor(double? age) => age < MinimumAge
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"HealthRec's suggestions follow adult guidelines ({MinimumAge} and over) and this patient is {Math.Floor(age.Value):0}: none are made")
        : null;

    /// <summary>The same items, checked with a medication-safety knowledge base.</summary>
    public InterventionCatalog WithSafety(Safety.MedicationSafety medicationSafety) => new(Items, medicationSafety) { Off = Off };

    private static string Ago(double days) => Math.Round(days) switch
    {
        0 => "today",
        1 => "1 day ago",
        var whole => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{whole:0} days ago"),
    };

    /// <summary>
    /// Null when the intervention may be suggested; otherwise why not: a contraindication, already taking it (or its
    /// class), the test done recently, or — for a medicine — a finding of the medication-safety check. Applied after
    /// any ranking and never overridden by it.
    /// </summary>
    public Exclusion? Exclude(Intervention item, RecordRuleContext patient, Func<string, double> daysSinceLast) =>
        Screen(item, patient, daysSinceLast).Exclusion;

    /// <summary><see cref="Exclude"/>, and the medication-safety cautions to show beside an item that may be suggested.</summary>
    public (Exclusion? Exclusion, IReadOnlyList<string> Cautions) Screen(Intervention item, RecordRuleContext patient, Func<string, double> daysSinceLast)
    {
        foreach (var group in item.Prevents)
        {
            if (patient.Ever(group))
            {
                return (new Exclusion(item.Id, $"already has {Terminology.ClinicalWords.Group(group)}, which '{item.Title}' is meant to prevent"), []);
            }
        }

        foreach (var contraindication in item.Contraindications)
        {
            if (contraindication.Rule.Evaluate(patient))
            {
                return (new Exclusion(item.Id, $"contraindicated: {contraindication.Reason}"), []);
            }
        }

        foreach (var medicationClass in item.NotIfTaking)
        {
            if (patient.Taking(medicationClass))
            {
                return (new Exclusion(item.Id, $"already taking {Terminology.ClinicalWords.Group(medicationClass)}"), []);
            }
        }

        if (item.NotIfMeasuredWithin is { } recent && daysSinceLast(recent.Analyte) is var days && !double.IsNaN(days) && days <= recent.Days)
        {
            return (new Exclusion(item.Id, $"{recent.Title} measured {Ago(days)}"), []);
        }

        if (Safety is null || item.Category != InterventionCategory.Medication)
        {
            return (null, []);
        }

        var findings = Safety.Check(Safety.Describe(item.CodeSystem, item.Code, item.Display), patient.Record, patient.At, []);
        if (findings.FirstOrDefault(f => f.Blocks) is { } blocking)
        {
            return (new Exclusion(item.Id, blocking.Kind == Clinical.Safety.FindingKind.NotChecked
                ? $"safety not established: {blocking.Text}"
                : $"contraindicated: {blocking.Text}"), []);
        }

        return (null, [.. findings.Select(f => f.Text)]);
    }
}
