namespace HealthRec.Clinical.Outcomes;

[JsonConverter(typeof(SnakeCaseEnumConverter<OutcomeKind>))]
public enum OutcomeKind
{
    /// <summary>Did the event happen within the horizon (a probability is predicted).</summary>
    Binary,

    /// <summary>A lab value at a time after the index date (a number is predicted).</summary>
    Regression,
}

/// <summary>Who is at risk at an index date.</summary>
public sealed record OutcomePopulation
{
    /// <summary>
    /// The youngest age at risk (default 18). With <see cref="MaxAge"/> also null (<c>"minAge": null, "maxAge": null</c>),
    /// age does not matter and a record without a birth date is at risk: a research table often has no age.
    /// </summary>
    public double? MinAge { get; init; } = 18;

    public double? MaxAge { get; init; } = 120;

    [JsonIgnore]
    public bool AgeMatters => MinAge is not null || MaxAge is not null;

    /// <summary>The ages at risk in words: "18–90", "18 and over", "any age".</summary>
    [JsonIgnore]
    public string AgeRange => (MinAge, MaxAge) switch
    {
        (null, null) => "any age",
        ({ } min, null) => $"{min} and over",
        (null, { } max) => $"up to {max}",
        ({ } min, { } max) => $"{min}–{max}",
    };

    /// <summary>Condition groups that must have begun on or before the index date (e.g. <c>t2d</c> for HbA1c in diabetes).</summary>
    public ImmutableArray<string> RequireConditionGroups { get; init; } = [];

    /// <summary>Condition groups that exclude when begun on or before the index date (prevalent cases are not at risk).</summary>
    public ImmutableArray<string> ExcludeConditionGroups { get; init; } = [];

    /// <summary>Also exclude patients in whom the target's lab criterion was already met on or before the index date.</summary>
    public bool ExcludeLabCriterionMet { get; init; } = true;
}

/// <summary>A lab criterion: a value beyond a threshold, confirmed by <see cref="Count"/> results at least <see cref="MinDaysApart"/> apart.</summary>
public sealed record LabCriterion
{
    public required string Analyte { get; init; }

    public double? Below { get; init; }

    public double? AtLeast { get; init; }

    public int Count { get; init; } = 1;

    public int MinDaysApart { get; init; }
}

/// <summary>For a regression outcome: the analyte's value nearest to index + <see cref="AtDays"/>, within the tolerance.</summary>
public sealed record LabValueTarget
{
    public required string Analyte { get; init; }

    public int AtDays { get; init; } = 365;

    public int ToleranceDays { get; init; } = 90;
}

/// <summary>What counts as the event (binary) or the value to predict (regression).</summary>
public sealed record OutcomeTarget
{
    /// <summary>The event is the onset of a condition of one of these groups.</summary>
    public ImmutableArray<string> ConditionGroups { get; init; } = [];

    /// <summary>Or the date a lab criterion is met.</summary>
    public LabCriterion? Lab { get; init; }

    /// <summary>Or death, of any cause (<c>Patient.deceasedDateTime</c>): then death is the event, not a competing one.</summary>
    public bool Death { get; init; }

    /// <summary>
    /// With <see cref="Death"/>: only a death whose recorded cause (Observation LOINC 69453-9) is in one of these
    /// condition groups is the event; a death of another recorded cause is a competing event, and one without a recorded
    /// cause is censored at death (its cause is unknown, so it is neither).
    /// </summary>
    public ImmutableArray<string> DeathCauses { get; init; } = [];

    /// <summary>
    /// Or the start of an encounter of one of these classes (FHIR <c>Encounter.class</c> codes, e.g. <c>IMP</c> for an
    /// inpatient admission, <c>EMER</c> for an emergency visit).
    /// </summary>
    public ImmutableArray<string> EncounterClasses { get; init; } = [];

    /// <summary>Or a procedure of one of these groups (a site's <c>procedure-*</c> ValueSets), at its performed date.</summary>
    public ImmutableArray<string> ProcedureGroups { get; init; } = [];

    /// <summary>For regression outcomes.</summary>
    public LabValueTarget? Value { get; init; }
}

[JsonConverter(typeof(SnakeCaseEnumConverter<ThresholdPolicy>))]
public enum ThresholdPolicy
{
    /// <summary>The probability that maximizes F1 on the validation set.</summary>
    MaxF1,

    /// <summary>The highest probability that still reaches the stated sensitivity on the validation set.</summary>
    Sensitivity,

    /// <summary>A fixed probability.</summary>
    Fixed,
}

public sealed record RiskBand(string Name, double From);

public sealed record OperatingThreshold
{
    public ThresholdPolicy Policy { get; init; } = ThresholdPolicy.MaxF1;

    /// <summary>The sensitivity to reach, or the fixed probability.</summary>
    public double? Value { get; init; }
}

[JsonConverter(typeof(SnakeCaseEnumConverter<LandmarkAnchor>))]
public enum LandmarkAnchor
{
    /// <summary>From the patient's first recorded activity, at regular intervals.</summary>
    Activity,

    /// <summary>At the end of each encounter of the given classes: a discharge (e.g. for readmission within 30 days).</summary>
    Discharge,
}

/// <summary>How index dates (landmarks) are placed in each patient's timeline.</summary>
public sealed record LandmarkPolicy
{
    /// <summary>What the index dates hang on: regular intervals from the first activity (default), or each discharge.</summary>
    public LandmarkAnchor At { get; init; } = LandmarkAnchor.Activity;

    /// <summary>For <see cref="LandmarkAnchor.Discharge"/>: the encounter classes whose end is an index date (e.g. <c>IMP</c>).</summary>
    public ImmutableArray<string> EncounterClasses { get; init; } = [];

    /// <summary>The first landmark comes this long after the patient's first recorded activity, so there is history.</summary>
    public int FirstAfterDays { get; init; } = 365;

    /// <summary>Further landmarks every so many days.</summary>
    public int EveryDays { get; init; } = 730;

    public int MaxPerPatient { get; init; } = 3;
}

/// <summary>
/// An outcome HealthRec predicts, declared as data (<c>models/outcomes/*.json</c>, read by HealthRec.ML's
/// <c>OutcomeFiles</c>): a user adds an outcome by adding a file. Parsed with unknown members refused, and checked
/// against the terminology (every group and analyte must exist).
/// </summary>
public sealed record OutcomeDefinition
{
    public required string Id { get; init; }

    public required string Title { get; init; }

    /// <summary>A few words a card's one-line summary can carry ("10-year ASCVD risk"); the title when not given.</summary>
    public string? ShortTitle { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public string Label => ShortTitle ?? Title;

    public string? Description { get; init; }

    public OutcomeKind Kind { get; init; } = OutcomeKind.Binary;

    public OutcomePopulation Population { get; init; } = new();

    public required OutcomeTarget Target { get; init; }

    /// <summary>Binary: the event must happen within (index, index + horizon].</summary>
    public int HorizonDays { get; init; }

    /// <summary>
    /// Without the event, a patient is a negative only when followed this long after the index date (activity or
    /// death after it); otherwise censored and left out. Defaults to the horizon.
    /// </summary>
    public int? MinFollowUpDays { get; init; }

    /// <summary>
    /// A living patient counts as followed (still in the practice, an event would be recorded) until this many days
    /// after their last recorded activity, or the end of the data when that comes first. Default 1,095 (three years).
    /// </summary>
    public int FollowUpGraceDays { get; init; } = 1095;

    public OperatingThreshold Threshold { get; init; } = new();

    /// <summary>
    /// Named risk bands by lower bound of the probability, ascending (e.g. ACC/AHA's 5 / 7.5 / 20 % for ASCVD). Without
    /// them: "low" below half the operating threshold, "intermediate" below it, "high" from it.
    /// </summary>
    public ImmutableArray<RiskBand> Bands { get; init; } = [];

    /// <summary>The band a probability falls in.</summary>
    public string BandOf(double probability, double threshold)
    {
        if (Bands.IsEmpty)
        {
            return probability >= threshold ? "high" : probability >= threshold / 2 ? "intermediate" : "low";
        }

        var band = Bands[0].Name;
        foreach (var b in Bands)
        {
            if (probability >= b.From)
            {
                band = b.Name;
            }
        }

        return band;
    }

    /// <summary>
    /// The risk at which a clinician would act, for judging an equation's estimates (which have no trained operating
    /// threshold) and for net benefit: the fixed threshold when set, else the lower bound of the second-highest band
    /// (ASCVD: 7.5 %, where guidelines consider a statin), else one half.
    /// </summary>
    [JsonIgnore]
    public double DecisionThreshold => Threshold.Policy == ThresholdPolicy.Fixed && Threshold.Value is { } fixedAt ? fixedAt
        : Bands.Length >= 2 ? Bands[^2].From : 0.5;

    public LandmarkPolicy Landmarks { get; init; } = new();

    /// <summary>Evaluate the Pooled Cohort Equations beside the models (ASCVD outcomes).</summary>
    public bool PooledCohortBaseline { get; init; }

    /// <summary>
    /// The published equation that answers for this outcome until a model trained on the site's data beats it at the
    /// promotion gate (an id of <see cref="Risk.ReferenceModels"/>, e.g. <c>prevent-ascvd</c>); none when absent.
    /// </summary>
    public string? Reference { get; init; }

    /// <summary>
    /// Published equations whose estimates are shown beside this outcome's (ids of <see cref="Risk.ReferenceModels"/>):
    /// other outcomes or horizons of the same patient — PREVENT's total CVD and heart failure beside ASCVD, QDiabetes'
    /// 10-year risk beside a 5-year diabetes outcome. Never compared with the estimate, never its champion.
    /// </summary>
    public ImmutableArray<string> Alongside { get; init; } = [];

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
    };

    /// <summary>Parses and checks a definition; every problem is named in one <see cref="OutcomeDefinitionException"/>.</summary>
    public static OutcomeDefinition Parse(string json, string source, ClinicalTerminology terminology)
    {
        OutcomeDefinition definition;
        try
        {
            definition = JsonSerializer.Deserialize<OutcomeDefinition>(json, Json)
                ?? throw new OutcomeDefinitionException($"{source}: the definition is JSON null.");
        }
        catch (JsonException ex)
        {
            throw new OutcomeDefinitionException($"{source}: not a valid outcome definition: {ex.Message}");
        }

        var problems = definition.Check(terminology);
        return problems.Count == 0 ? definition : throw new OutcomeDefinitionException($"{source}: {string.Join("; ", problems)}");
    }

    private List<string> Check(ClinicalTerminology terminology)
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Id) || !Id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            problems.Add($"id '{Id}' must be letters, digits, '-' or '_'");
        }

        if (!Target.DeathCauses.IsEmpty && !Target.Death)
        {
            problems.Add("target.deathCauses go with target.death: true");
        }

        foreach (var group in Population.RequireConditionGroups.Concat(Population.ExcludeConditionGroups).Concat(Target.ConditionGroups).Concat(Target.DeathCauses))
        {
            if (!terminology.ConditionGroups.Contains(group))
            {
                problems.Add($"unknown condition group '{group}' (known: {string.Join(", ", terminology.ConditionGroups.Order(StringComparer.Ordinal))})");
            }
        }

        foreach (var group in Target.ProcedureGroups.Where(g => !terminology.ProcedureGroups.Contains(g)))
        {
            problems.Add($"unknown procedure group '{group}' (a ValueSet with id procedure-{group} in the terminology folder)");
        }

        foreach (var analyte in new[] { Target.Lab?.Analyte, Target.Value?.Analyte }.OfType<string>())
        {
            if (!terminology.Analytes.Any(a => string.Equals(a.Id, analyte, StringComparison.Ordinal)))
            {
                problems.Add($"unknown analyte '{analyte}'");
            }
        }

        if (Kind == OutcomeKind.Binary)
        {
            if (Target.ConditionGroups.IsEmpty && Target.Lab is null && !Target.Death && Target.EncounterClasses.IsEmpty && Target.ProcedureGroups.IsEmpty)
            {
                problems.Add("a binary outcome needs target.conditionGroups, target.lab, target.death, target.encounterClasses or target.procedureGroups (several: whichever comes first)");
            }

            if (HorizonDays <= 0)
            {
                problems.Add("horizonDays must be positive");
            }

            if (Target.Lab is { } lab && (lab.Below is null == lab.AtLeast is null || lab.Count < 1 || lab.MinDaysApart < 0))
            {
                problems.Add("target.lab needs exactly one of below/atLeast, count ≥ 1 and minDaysApart ≥ 0");
            }
        }
        else if (Target.Value is null)
        {
            problems.Add("a regression outcome needs target.value");
        }

        if (Threshold.Policy != ThresholdPolicy.MaxF1 && Threshold.Value is not (> 0 and < 1))
        {
            problems.Add("threshold.value must be between 0 and 1 for the sensitivity and fixed policies");
        }

        if (!Bands.IsEmpty && (Bands[0].From != 0 || Bands.Zip(Bands.Skip(1)).Any(p => p.Second.From <= p.First.From)))
        {
            problems.Add("bands must start at 0 and rise");
        }

        if (Reference is { } reference && (!Risk.ReferenceModels.All.TryGetValue(reference, out var model) || model.Outcome != Id))
        {
            problems.Add(Risk.ReferenceModels.All.TryGetValue(reference, out var other)
                ? $"reference '{reference}' estimates {other.Outcome}, not {Id}"
                : $"unknown reference '{reference}' (known: {string.Join(", ", Risk.ReferenceModels.All.Keys.Order(StringComparer.Ordinal))})");
        }

        foreach (var id in Alongside.Where(a => !Risk.ReferenceModels.All.ContainsKey(a) || a == Reference))
        {
            problems.Add(id == Reference ? $"alongside names '{id}', which is already the reference"
                : $"alongside names unknown equation '{id}' (known: {string.Join(", ", Risk.ReferenceModels.All.Keys.Order(StringComparer.Ordinal))})");
        }

        if (FollowUpGraceDays < 0)
        {
            problems.Add("followUpGraceDays must be 0 or more");
        }

        if (Landmarks.EveryDays <= 0 || Landmarks.MaxPerPatient <= 0 || Landmarks.FirstAfterDays < 0)
        {
            problems.Add("landmarks need everyDays > 0, maxPerPatient > 0 and firstAfterDays ≥ 0");
        }

        if ((Landmarks.At == LandmarkAnchor.Discharge) == Landmarks.EncounterClasses.IsEmpty)
        {
            problems.Add("landmarks.encounterClasses go with \"at\": \"discharge\" (the classes whose end is an index date), and only with it");
        }

        return problems;
    }
}

public sealed class OutcomeDefinitionException(string message) : Exception(message);
