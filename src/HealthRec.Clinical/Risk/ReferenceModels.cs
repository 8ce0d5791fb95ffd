namespace HealthRec.Clinical.Risk;

/// <summary>
/// One reason for a reference estimate: a clinical quantity of the patient, and what the equation's terms for it
/// (main effect and interactions) add to its linear predictor (log-odds for PREVENT, log subhazard for CKD-PC) against
/// the equation's reference person.
/// </summary>
public sealed record ReferenceReason(string Quantity, string Text, double Contribution);

/// <summary>
/// A reference model's answer for one patient at one date: the estimate, or why none is given (outside the population
/// or the valid ranges, an input missing); the equation's own terms grouped by clinical quantity as the reasons; what
/// the estimate lacks (inputs stale, unreadable, or assumed); and the date of the newest input it used ("as of").
/// </summary>
public sealed record ReferenceEstimate(
    ReferenceModel Model,
    double? Estimate,
    IReadOnlyList<string> NotGiven,
    IReadOnlyList<ReferenceReason> Reasons,
    IReadOnlyList<string> Lacks,
    DateTimeOffset? AsOf)
{
    /// <summary>Inputs not used as reported (an eGFR read under a unit equivalence, or computed from creatinine), said where used.</summary>
    public IReadOnlyList<string> Read { get; init; } = [];

    /// <summary>
    /// Of <see cref="Lacks"/>, the inputs the record holds but HealthRec could not read (a newer result in an unknown
    /// unit, observations the source could not give): an estimate made without them is said even where it is low.
    /// </summary>
    public IReadOnlyList<string> Unreadable { get; init; } = [];
}

/// <summary>
/// A reference equation's model card text: the kind of equation it is, where its coefficients come from and how they
/// were checked, how HealthRec applies it (ranges, inputs, defaults said on the card, reasons), its limitations here.
/// </summary>
public sealed record ReferenceCardText(string Form, string Checked, IReadOnlyList<string> Application, IReadOnlyList<string> Limitations);

/// <summary>
/// A published, externally validated risk equation HealthRec serves as a model: what it estimates, its source, the
/// population it was developed for and its published validation — the floor a site's own model must beat to replace it.
/// </summary>
public abstract record ReferenceModel(string Id, string Name, string Outcome, string Citation, string Url, string Population, string Validation)
{
    /// <summary>
    /// How long an input stays current for the equations (a lipid panel 5 years; pressure, kidney function, albuminuria,
    /// BMI and HbA1c 2).
    /// </summary>
    public static readonly FrozenDictionary<string, int> WindowDays = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["total_cholesterol"] = 1826,
        ["hdl"] = 1826,
        ["sbp"] = 730,
        ["dbp"] = 730,
        ["egfr"] = 730,
        ["uacr"] = 730,
        ["bmi"] = 730,
        ["hba1c"] = 730,
        ["smoking_status"] = 1826,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The medication classes that count as blood-pressure treatment for the equations.</summary>
    public static readonly FrozenSet<string> Antihypertensives = new[] { "ace-inhibitor", "arb", "thiazide", "ccb", "beta-blocker" }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>
    /// The equation for this patient at <paramref name="at"/>. Inputs are the last value within twice the input's window
    /// (<see cref="WindowDays"/>); one older than its window is used and named as stale; none within twice the window
    /// means no estimate. A value outside the equation's valid range gives no estimate (never an extrapolation), with
    /// the reason; an input taken as a default (smoking not recorded) is said.
    /// </summary>
    public abstract ReferenceEstimate Evaluate(PatientRecord record, DateTimeOffset at);

    /// <summary>What the equation reads, by the analyte ids and feature names HealthRec reads them under (for its source attributes).</summary>
    public abstract IReadOnlyList<string> Inputs { get; }

    /// <summary>
    /// Outcomes of the same event over a shorter horizon, whose risk cannot exceed this equation's figure for the same
    /// patient (QDiabetes' 10 years bound <c>t2d-5y</c>): an estimate of one of them above the figure is said on the card.
    /// </summary>
    public IReadOnlyList<string> Bounds { get; init; } = [];

    /// <summary>What its model card says of it beyond its source, population and validation (its coefficient file's <c>card</c>).</summary>
    public required ReferenceCardText Card { get; init; }

    /// <summary>The terms grouped by clinical quantity and worded with the patient's own values, largest push first.</summary>
    protected static List<ReferenceReason> Reasons(IReadOnlyList<EquationTerm> terms, Func<string, string> text) =>
    [
        .. terms.Where(t => t.Quantity != "constant")
            .GroupBy(t => t.Quantity, StringComparer.Ordinal)
            .Select(g => new ReferenceReason(g.Key, text(g.Key), g.Sum(t => t.Contribution)))
            .Where(r => Math.Abs(r.Contribution) >= 0.01)
            .OrderByDescending(r => Math.Abs(r.Contribution)),
    ];
}

/// <summary>The reference models HealthRec knows, by id; an outcome definition names its own (<c>"reference"</c>).</summary>
public static class ReferenceModels
{
    private const string PreventCitation = "Khan SS, Matsushita K, Sang Y, et al. Development and Validation of the American Heart Association's PREVENT Equations. Circulation 2024;149:430–449";
    private const string PreventUrl = "https://doi.org/10.1161/CIRCULATIONAHA.123.067626";
    private const string PreventPopulation = "US adults 30–79 without cardiovascular disease; 3.3 million in 25 derivation data sets (1992–2017); sex-specific, race-free, adjusted for the competing risk of non-cardiovascular death";
    private const string PreventValidation = "published external validation in 3.3 million adults (21 data sets): median C-statistic for total CVD 0.794 in women and 0.757 in men, calibration slope 1.03 and 0.94, similar for the ASCVD and heart-failure equations";

    private static readonly ReferenceCardText PreventCard = EquationCoefficients.Card("prevent-2024.json");

    public static readonly FrozenDictionary<string, ReferenceModel> All = new ReferenceModel[]
    {
        new PreventModel("prevent-ascvd", "PREVENT (AHA 2024), 10-year ASCVD", "ascvd-10y", PreventCitation, PreventUrl, PreventPopulation, PreventValidation, PreventOutcome.Ascvd) { Card = PreventCard },
        new PreventModel("prevent-cvd", "PREVENT (AHA 2024), 10-year total CVD", "cvd-10y", PreventCitation, PreventUrl, PreventPopulation, PreventValidation, PreventOutcome.TotalCvd) { Card = PreventCard },
        new PreventModel("prevent-hf", "PREVENT (AHA 2024), 10-year heart failure", "hf-10y", PreventCitation, PreventUrl, PreventPopulation, PreventValidation, PreventOutcome.HeartFailure) { Card = PreventCard },
        new CkdPcModel("ckdpc-egfr60", "CKD-PC (Nelson 2019), 5-year incident eGFR below 60", "ckd-5y",
            Citation: "Nelson RG, Grams ME, Ballew SH, et al. Development of Risk Prediction Equations for Incident Chronic Kidney Disease. JAMA 2019;322:2104–2114",
            Url: "https://doi.org/10.1001/jama.2019.17379",
            Population: "5.2 million adults with eGFR 60 or more in 34 cohorts from 28 countries; one equation without diabetes, one with; eGFR by " +
                "CKD-EPI 2009. HealthRec applies it without its race term (it takes no input from race) and to eGFR as recorded or from creatinine by CKD-EPI 2021",
            Validation: "published development in 34 cohorts: median C-statistic 0.845 without diabetes and 0.801 with; 69 % of study populations had a " +
                "calibration slope between 0.80 and 1.25; similar discrimination and calibration in 9 external cohorts (2.3 million adults)")
        {
            Card = EquationCoefficients.Card("ckdpc-2019.json"),
        },
        new QDiabetesModel("qdiabetes-t2d", "QDiabetes-2018, 10-year type 2 diabetes", "t2d-10y",
            Citation: "Hippisley-Cox J, Coupland C. Development and validation of QDiabetes-2018 risk prediction algorithm to estimate future risk of type 2 diabetes: cohort study. BMJ 2017;359:j5019",
            Url: "https://doi.org/10.1136/bmj.j5019",
            Population: "8.87 million people aged 25–84 without diabetes in 1,094 English general practices (QResearch); sex-specific; model C with HbA1c " +
                "(below 48 mmol/mol), model A without a blood test. HealthRec applies it without its ethnicity terms (it takes no input from race or ethnicity) and with the Townsend score taken as 0",
            Validation: "published validation in 2.63 million people in 363 separate English practices, where the paper reports good discrimination and " +
                "calibration for all three models (model B, with fasting glucose, best); not validated here")
        {
            Card = EquationCoefficients.Card("qdiabetes-2018.json"),
            Bounds = ["t2d-5y"],
        },
    }.ToFrozenDictionary(m => m.Id, StringComparer.Ordinal);
}
