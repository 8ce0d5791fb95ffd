using Hl7.Fhir.Model;

namespace HealthRec.Server.Smart;

/// <summary>Who the page is about, as the EHR's Patient resource names them.</summary>
public sealed record PatientBanner(string Name, string? Sex, DateOnly? BirthDate, int? Age, string? Identifier, bool Synthetic);

/// <summary>One outcome's estimate as the clinician sees it: the number, its band, what it was a year ago, and why.</summary>
public sealed record RiskPanel(
    string Outcome,
    string Label,
    OutcomeKind Kind,
    double Estimate,
    string? Band,
    string BandLimits,
    double? YearAgo,
    IReadOnlyList<RiskFactor> Factors,
    string Model,
    string Validation,
    string? Caveat)
{
    /// <summary>Whether a published equation, not a trained model, gave the estimate.</summary>
    public bool ByEquation { get; init; }

    /// <summary>The reference equation's figure beside a model's, and whether they differ twofold (null when none).</summary>
    public string? Beside { get; init; }

    /// <summary>What the estimate lacks: inputs missing, stale, unreadable or assumed.</summary>
    public IReadOnlyList<string> Lacks { get; init; } = [];

    /// <summary>Inputs not used as reported (an eGFR read under a unit equivalence or computed from creatinine).</summary>
    public IReadOnlyList<string> Read { get; init; } = [];

    /// <summary>"As of" the newest input, when that is over a year before the page's date.</summary>
    public DateTimeOffset? AsOf { get; init; }
}

/// <summary>An outcome the patient is at risk of, to which the answering equation gives no number, and why.</summary>
public sealed record NotEstimatedPanel(string Outcome, string Label, string Model, IReadOnlyList<string> Why, IReadOnlyList<string> Lacks);

/// <summary>A lab or vital over time, with the periods of the treatments that act on it.</summary>
public sealed record Trend(string Title, string Unit, IReadOnlyList<TrendSeries> Series, IReadOnlyList<TreatmentPeriod> Treatments);

public sealed record TrendSeries(string Name, IReadOnlyList<(DateTimeOffset At, double Value)> Points);

public sealed record TreatmentPeriod(string Label, DateTimeOffset Start, DateTimeOffset End);

/// <summary>A suggestion with its reasons, expected benefit and evidence.</summary>
public sealed record SuggestionView(string Id, string Title, string Category, string? Benefit, IReadOnlyList<string> Reasons, IReadOnlyList<string> Cautions,
    IReadOnlyList<Clinical.Knowledge.Evidence> Evidence);

/// <summary>The clinician's hypothetical changes, validated.</summary>
public sealed record WhatIfRequest(double? Sbp, double? Ldl, double? Hba1c, double? Bmi, bool StopSmoking)
{
    public bool Any => Sbp is not null || Ldl is not null || Hba1c is not null || Bmi is not null || StopSmoking;
}

/// <summary>Each outcome's estimate before and after the clinician's hypothetical changes.</summary>
public sealed record WhatIfResult(IReadOnlyList<string> Changes, IReadOnlyList<(string Outcome, string Label, double Before, double After)> Estimates);

/// <summary>Everything the patient page shows, computed from one record at one moment with one set of models.</summary>
public sealed record PatientView(
    string PatientId,
    DateTimeOffset At,
    PatientBanner Banner,
    bool Scorable,
    IReadOnlyList<RiskPanel> Risks,
    IReadOnlyList<Trend> Trends,
    IReadOnlyList<SuggestionView> Suggestions,
    WhatIfRequest WhatIf,
    WhatIfResult? WhatIfResult,
    string ModelVersions,
    bool TrainedOnSynthetic)
{
    public IReadOnlyList<NotEstimatedPanel> NotEstimated { get; init; } = [];

    /// <summary>Why no suggestion is made for this patient at all (a child, for an adult catalog), or null.</summary>
    public string? NoSuggestions { get; init; }

    /// <summary>
    /// The lists the FHIR server did not give whole (refused, failed, or paged onto another server), each with why:
    /// everything on the page was computed without them, and the page says so.
    /// </summary>
    public IReadOnlyList<string> Unread { get; init; } = [];
}

/// <summary>
/// Builds the patient page from the record the FHIR server gave: the same featurizer, models and recommender as the
/// CDS cards, so the page and the card never disagree. "A year ago" is the model's estimate from the record as it stood
/// then (nothing later is read); "what if" adds the clinician's values as today's measurements and estimates again.
/// </summary>
internal sealed class PatientViewBuilder(OutcomeLabels labels)
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    // The charts, and the medication classes whose periods are shaded on each (those that act on it).
    private static readonly (string Title, string Unit, string[] Analytes, string[] Classes)[] Charts =
    [
        ("HbA1c", "%", ["hba1c"], ["metformin", "sglt2-inhibitor", "glp1-agonist", "insulin", "sulfonylurea"]),
        ("LDL cholesterol", "mg/dL", ["ldl"], ["statin", "ezetimibe"]),
        ("Blood pressure", "mmHg", ["sbp", "dbp"], ["ace-inhibitor", "arb", "thiazide", "ccb", "beta-blocker"]),
        ("eGFR", "mL/min/1.73 m²", ["egfr"], ["ace-inhibitor", "arb", "sglt2-inhibitor"]),
        ("BMI", "kg/m²", ["bmi"], ["glp1-agonist"]),
    ];

    public const int Suggestions = 5;

    public PatientView Build(ServingModels models, Patient? patient, PatientRecord record, DateTimeOffset at, WhatIfRequest whatIf)
    {
        var banner = Banner(patient, record, at);
        var scorable = PatientRiskCards.Scorable(models, record, at);
        var risks = new List<RiskPanel>();
        var suggestions = new List<SuggestionView>();
        var notEstimated = new List<NotEstimatedPanel>();
        string? noSuggestions = null;
        WhatIfResult? whatIfResult = null;
        if (scorable)
        {
            var estimates = models.Estimate(record, at);
            var (features, predictions) = estimates;
            var before = models.Estimate(record, at.AddYears(-1)).Predictions.ToDictionary(p => p.Outcome, StringComparer.Ordinal);
            foreach (var prediction in predictions)
            {
                var predictor = models.Predictors[prediction.Outcome];
                risks.Add(new RiskPanel(prediction.Outcome, labels.Label(predictor.Definition), prediction.Kind, prediction.Estimate, prediction.Band,
                    prediction.Kind == OutcomeKind.Binary ? PatientRiskCards.Bands(predictor.Definition, prediction.Threshold ?? predictor.Manifest.Threshold, prediction.ByReference) : "",
                    before.TryGetValue(prediction.Outcome, out var then) ? then.Estimate : null,
                    prediction.Factors, prediction.ByReference ? predictor.Reference!.Name : $"{prediction.Outcome} {prediction.ModelVersion}", prediction.Validation,
                    prediction.ByReference ? null : Caveat(predictor))
                {
                    ByEquation = prediction.ByReference,
                    Beside = NullIfEmpty(PatientRiskCards.Beside(predictor.WithAlongside(prediction, record, at))),
                    Lacks = prediction.Lacks,
                    Read = prediction.Read,
                    AsOf = prediction.AsOf is { } asOf && (at - asOf).TotalDays > PatientRiskCards.StaleDataDays ? asOf : null,
                });
            }

            notEstimated.AddRange(estimates.NotEstimated.Select(x =>
                new NotEstimatedPanel(x.Predictor.Definition.Id, labels.Label(x.Predictor.Definition), x.Why.Model.Name, x.Why.NotGiven, x.Why.Lacks)));

            var set = models.Recommender.Recommend(PatientSnapshot.From(record, at, features, models.Featurizer, predictions), Suggestions);
            noSuggestions = set.NotForPatient;
            suggestions.AddRange(set.Recommendations.Select(r => new SuggestionView(r.Intervention.Id, r.Intervention.Title, r.Intervention.Category.ToString().ToLowerInvariant(),
                r.Benefit?.Text, r.Reasons, r.Cautions, r.Evidence)));
            if (whatIf.Any)
            {
                whatIfResult = WhatIf(models, record, at, whatIf, predictions);
            }
        }

        return new PatientView(record.PatientId, at, banner, scorable, risks, Trends(record, at), suggestions, whatIf, whatIfResult, models.Versions,
            models.Predictors.Values.Any(p => !p.ReferenceAnswers && p.Manifest.Provenance.Synthetic))
        {
            NotEstimated = notEstimated,
            NoSuggestions = noSuggestions,
            Unread = [.. record.Unavailable.OrderBy(u => u.Key, StringComparer.Ordinal).Select(u => $"{u.Key}: {u.Value}")],
        };
    }

    private WhatIfResult WhatIf(ServingModels models, PatientRecord record, DateTimeOffset at, WhatIfRequest request, List<RiskPrediction> now)
    {
        var changed = record;
        var changes = new List<string>();
        void Set(string analyte, double? value, string text)
        {
            if (value is { } v)
            {
                changed = changed.WithMeasurement(analyte, new Measurement(at, v, false));
                changes.Add(string.Create(Ci, $"{text} {v:0.#}"));
            }
        }

        Set("sbp", request.Sbp, "systolic blood pressure");
        Set("ldl", request.Ldl, "LDL cholesterol");
        Set("hba1c", request.Hba1c, "HbA1c");
        Set("bmi", request.Bmi, "BMI");
        if (request.StopSmoking)
        {
            changed = changed.WithMeasurement("smoking_status", new Measurement(at, 1, false));
            changes.Add("stopped smoking (recorded as a former smoker)");
        }

        var after = models.Estimate(changed, at).Predictions.ToDictionary(p => p.Outcome, StringComparer.Ordinal);
        return new WhatIfResult(changes, [.. now.Where(p => after.ContainsKey(p.Outcome))
            .Select(p => (p.Outcome, labels.Label(models.Predictors[p.Outcome].Definition), p.Estimate, after[p.Outcome].Estimate))]);
    }

    private static string? NullIfEmpty(string text) => text.Length == 0 ? null : text;

    private static string? Caveat(OutcomePredictor predictor) =>
        predictor.Manifest.InTheLargeRatio is { } ratio
            ? string.Create(Ci, $"This model's estimates run {(ratio > 1 ? "high" : "low")}: over the at-risk patients of its held-out test the mean estimate was {ratio:0.#} times the observed incidence. Read the figure as a ranking, not as an absolute risk.")
            : null;

    private static List<Trend> Trends(PatientRecord record, DateTimeOffset at)
    {
        var trends = new List<Trend>();
        foreach (var (title, unit, analytes, classes) in Charts)
        {
            var series = analytes.Select(a => new TrendSeries(a, [.. record.MeasurementsOf(a).Where(m => m.At <= at).Select(m => (m.At, m.Value))]))
                .Where(s => s.Points.Count > 0).ToList();
            if (series.Count == 0)
            {
                continue;
            }

            var first = series.Min(s => s.Points[0].At);
            var treatments = record.Medications
                .Where(m => m.Start is { } start && start <= at && (m.End ?? at) >= first && m.Classes.Any(classes.Contains))
                .Select(m => new TreatmentPeriod(m.Display ?? m.Classes.First(classes.Contains), m.Start!.Value < first ? first : m.Start.Value, m.End is { } end && end < at ? end : at))
                .ToList();
            trends.Add(new Trend(title, unit, series, treatments));
        }

        return trends;
    }

    private static PatientBanner Banner(Patient? patient, PatientRecord record, DateTimeOffset at)
    {
        var name = patient?.Name.FirstOrDefault(n => n.Use == HumanName.NameUse.Official) ?? patient?.Name.FirstOrDefault();
        var text = name is null ? $"Patient {record.PatientId}"
            : name.Text is { Length: > 0 } whole ? whole
            : string.Join(' ', name.Given.Append(name.Family).Where(p => !string.IsNullOrWhiteSpace(p)));
        int? age = record.BirthDate is { } born ? at.Year - born.Year - (DateOnly.FromDateTime(at.UtcDateTime) < born.AddYears(at.Year - born.Year) ? 1 : 0) : null;
        var mrn = patient?.Identifier.FirstOrDefault(i => i.Type?.Coding.Any(c => c.Code == "MR") == true) ?? patient?.Identifier.FirstOrDefault();
        var synthetic = patient?.Meta?.Tag.Any(t => t.Code == "HTEST") == true || patient?.Meta?.Security.Any(t => t.Code == "HTEST") == true;
        return new PatientBanner(string.IsNullOrWhiteSpace(text) ? $"Patient {record.PatientId}" : text,
            record.Sex is Sex.Female or Sex.Male or Sex.Other ? record.Sex.ToString().ToLowerInvariant() : null, record.BirthDate, age, mrn?.Value, synthetic);
    }
}
