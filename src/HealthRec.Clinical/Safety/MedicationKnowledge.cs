namespace HealthRec.Clinical.Safety;

/// <summary>How strongly a rule speaks against a medicine. Ordered: a higher value is more severe.</summary>
public enum Severity
{
    /// <summary>Use with care (monitoring, dose): said on the card and beside a suggestion; never blocks.</summary>
    Caution,

    /// <summary>Avoid unless the benefit clearly outweighs the risk: a warning, and never suggested.</summary>
    Avoid,

    /// <summary>Do not use: a warning, and never suggested.</summary>
    Contraindicated,
}

internal static class SeverityWords
{
    /// <summary>The word a card's summary uses for a severity.</summary>
    public static string Word(this Severity severity) => severity switch
    {
        Severity.Contraindicated => "contraindicated",
        Severity.Avoid => "avoid",
        _ => "caution",
    };
}

/// <summary>What a rule looks at.</summary>
public enum SafetyRuleKind
{
    /// <summary>Kidney function below (or within) a threshold: eGFR, or creatinine clearance by Cockcroft–Gault.</summary>
    Kidney,

    /// <summary>Serum potassium above a threshold.</summary>
    Potassium,

    /// <summary>Pregnancy.</summary>
    Pregnancy,

    /// <summary>An active condition of a group (e.g. liver disease, heart failure).</summary>
    Condition,

    /// <summary>Another medicine taken or ordered at the same time (two or three groups).</summary>
    Interaction,
}

public enum KidneyMeasure
{
    /// <summary>eGFR in mL/min/1.73 m² (reported, read under the mL/min equivalence, or computed from creatinine).</summary>
    Egfr,

    /// <summary>Creatinine clearance in mL/min by Cockcroft–Gault (creatinine, age, weight, sex).</summary>
    CreatinineClearance,
}

/// <summary>A guideline, label or study a rule rests on.</summary>
public sealed record EvidenceSource(string Id, string Title, string Citation, string Url, int Year);

/// <summary>Medicines by HealthRec medication class or by RxNorm ingredient.</summary>
public sealed record DrugSelector(ImmutableArray<string> Classes, ImmutableArray<string> Ingredients)
{
    public bool Matches(MedicationIdentity drug) =>
        drug.Classes.Any(c => Classes.Contains(c, StringComparer.Ordinal)) || drug.Ingredients.Any(i => Ingredients.Contains(i.Code, StringComparer.Ordinal));
}

/// <summary>A limit on a measured value; every bound given must hold for the rule to fire.</summary>
public sealed record Threshold(double? Below, double? AtOrBelow, double? AtLeast, double? Above)
{
    /// <summary>
    /// For a value reported as a bound (an eGFR "&lt;45"): true when the threshold holds for every value the bound allows,
    /// false for none, null when it depends on where in the range the value lies — the check cannot tell.
    /// </summary>
    public bool? Holds(double value, ValueBound bound)
    {
        var reported = bound switch
        {
            ValueBound.Below => new Interval(double.NegativeInfinity, true, value, true),
            ValueBound.AtMost => new Interval(double.NegativeInfinity, true, value, false),
            ValueBound.AtLeast => new Interval(value, false, double.PositiveInfinity, true),
            ValueBound.Above => new Interval(value, true, double.PositiveInfinity, true),
            _ => new Interval(value, false, value, false),
        };
        var held = reported;
        held = Below is { } b ? held.AtMost(b, open: true) : held;
        held = AtOrBelow is { } ob ? held.AtMost(ob, open: false) : held;
        held = AtLeast is { } l ? held.AtLeast(l, open: false) : held;
        held = Above is { } a ? held.AtLeast(a, open: true) : held;
        return held.Empty ? false : held == reported ? true : null;
    }

    /// <summary>The threshold in words: "below 30", "at least 30 and below 45".</summary>
    public string Text => string.Join(" and ", new[]
    {
        AtLeast is { } l ? string.Create(CultureInfo.InvariantCulture, $"at least {l:0.##}") : null,
        Above is { } a ? string.Create(CultureInfo.InvariantCulture, $"above {a:0.##}") : null,
        Below is { } b ? string.Create(CultureInfo.InvariantCulture, $"below {b:0.##}") : null,
        AtOrBelow is { } ob ? string.Create(CultureInfo.InvariantCulture, $"at or below {ob:0.##}") : null,
    }.OfType<string>());

    private readonly record struct Interval(double Low, bool LowOpen, double High, bool HighOpen)
    {
        public bool Empty => Low > High || (Low == High && (LowOpen || HighOpen));

        public Interval AtMost(double limit, bool open) =>
            limit < High || (limit == High && open && !HighOpen) ? this with { High = limit, HighOpen = open } : this;

        public Interval AtLeast(double limit, bool open) =>
            limit > Low || (limit == Low && open && !LowOpen) ? this with { Low = limit, LowOpen = open } : this;
    }
}

/// <summary>
/// One medication-safety rule of <c>data/knowledge/medication-safety.json</c>: the medicines it is about, what it looks
/// at (and so the inputs it needs, <see cref="Inputs"/>), how severe it is, the words a clinician reads, and its evidence.
/// </summary>
public sealed record SafetyRule
{
    public required string Id { get; init; }

    public required SafetyRuleKind Kind { get; init; }

    public required DrugSelector Drugs { get; init; }

    public required Severity Severity { get; init; }

    /// <summary>What a clinician reads when the rule fires.</summary>
    public required string Text { get; init; }

    public required ImmutableArray<EvidenceSource> Evidence { get; init; }

    public KidneyMeasure Measure { get; init; }

    public Threshold? Threshold { get; init; }

    /// <summary>The oldest value the rule accepts, in days (kidney and potassium rules).</summary>
    public int MaxAgeDays { get; init; }

    /// <summary>The condition group (condition rules).</summary>
    public string? Condition { get; init; }

    /// <summary>The other groups that must be taken or ordered too (interaction rules).</summary>
    public ImmutableArray<DrugSelector> With { get; init; } = [];

    /// <summary>The inputs the rule needs; when any cannot be had or read, the check says so instead of passing.</summary>
    public ImmutableArray<SafetyInput> Inputs => Kind switch
    {
        SafetyRuleKind.Kidney when Measure == KidneyMeasure.Egfr => [SafetyInput.Egfr],
        SafetyRuleKind.Kidney => [SafetyInput.Creatinine, SafetyInput.Weight, SafetyInput.Age, SafetyInput.Sex],
        SafetyRuleKind.Potassium => [SafetyInput.Potassium],
        SafetyRuleKind.Pregnancy => [SafetyInput.Sex, SafetyInput.Pregnancy],
        SafetyRuleKind.Condition => [SafetyInput.Conditions],
        _ => [SafetyInput.Medications],
    };
}

/// <summary>What a check reads from the record.</summary>
public enum SafetyInput
{
    /// <summary>eGFR, or serum creatinine with age and sex to compute it.</summary>
    Egfr,
    Creatinine,
    Weight,
    Age,
    Sex,
    Potassium,

    /// <summary>Pregnancy on the problem list, or a recorded pregnancy status.</summary>
    Pregnancy,
    Conditions,

    /// <summary>The medication lists, and every medicine on them identified.</summary>
    Medications,

    /// <summary>The allergy list, and every allergy on it readable.</summary>
    Allergies,
}

/// <summary>An allergy to one class that calls for care with another (e.g. penicillin → cephalosporin).</summary>
public sealed record CrossReaction(string AllergyClass, string DrugClass, Severity Severity, string Text, ImmutableArray<EvidenceSource> Evidence);

/// <summary>A class in which an allergy to one member counts for every member, with the words that name the class in an allergy's text.</summary>
public sealed record AllergyClass(string Class, string Title, ImmutableArray<string> Synonyms, ImmutableArray<EvidenceSource> Evidence);

/// <summary>
/// An allergen code (SNOMED CT finding or substance) and what it means for medicines: the classes or ingredients it
/// covers, or that it is not a medicine at all (mould, pollen, food), or — <see cref="NoneKnown"/> — that it records no
/// allergy at all ("No known drug allergy"), which is never compared with a medicine.
/// </summary>
public sealed record Allergen(string System, string Code, string Display, ImmutableArray<string> Classes, ImmutableArray<string> Ingredients, bool Medication)
{
    public bool NoneKnown { get; init; }
}

/// <summary>The validated medication-safety knowledge base (see <c>data/knowledge/medication-safety.json</c>).</summary>
public sealed class MedicationKnowledge(
    string version,
    ImmutableArray<SafetyRule> rules,
    ImmutableArray<string> duplicateClasses,
    ImmutableArray<EvidenceSource> duplicateEvidence,
    ImmutableArray<AllergyClass> allergyClasses,
    ImmutableArray<CrossReaction> crossReactions,
    ImmutableArray<Allergen> allergens,
    ImmutableArray<EvidenceSource> allergyEvidence)
{
    public string Version { get; } = version;

    public ImmutableArray<SafetyRule> Rules { get; } = rules;

    /// <summary>Classes in which two different medicines at once are duplicate therapy.</summary>
    public FrozenSet<string> DuplicateClasses { get; } = duplicateClasses.ToFrozenSet(StringComparer.Ordinal);

    public ImmutableArray<EvidenceSource> DuplicateEvidence { get; } = duplicateEvidence;

    public ImmutableArray<AllergyClass> AllergyClasses { get; } = allergyClasses;

    public ImmutableArray<CrossReaction> CrossReactions { get; } = crossReactions;

    public FrozenDictionary<(string System, string Code), Allergen> Allergens { get; } =
        allergens.ToFrozenDictionary(a => (a.System, a.Code));

    /// <summary>The evidence for an allergy to a medicine itself (drug-allergy practice parameter).</summary>
    public ImmutableArray<EvidenceSource> AllergyEvidence { get; } = allergyEvidence;

    /// <summary>Whether the knowledge base has anything to say about a medicine: a rule, a duplicate class or an allergy class.</summary>
    public bool Covers(MedicationIdentity drug) =>
        Rules.Any(r => r.Drugs.Matches(drug) || r.With.Any(w => w.Matches(drug)))
        || drug.Classes.Any(DuplicateClasses.Contains)
        || AllergyClasses.Any(a => drug.Classes.Contains(a.Class, StringComparer.Ordinal));
}
