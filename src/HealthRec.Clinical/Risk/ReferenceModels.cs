using System.Globalization;

namespace HealthRec.Clinical.Risk;

/// <summary>
/// One reason for a reference estimate: a clinical quantity of the patient, and what the equation's terms for it
/// (main effect and interactions) add to the log-odds against the equation's reference person.
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
}

/// <summary>
/// A published, externally validated risk equation HealthRec serves as a model: what it estimates, its source, the
/// population it was developed for and its published validation — the floor a site's own model must beat to replace it.
/// </summary>
public sealed record ReferenceModel(
    string Id,
    string Name,
    string Outcome,
    string Citation,
    string Url,
    string Population,
    string Validation,
    PreventOutcome Equation)
{
    /// <summary>How long an input stays current for the equation (a lipid panel 5 years; pressure, kidney function, BMI 2).</summary>
    public static readonly FrozenDictionary<string, int> WindowDays = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["total_cholesterol"] = 1826,
        ["hdl"] = 1826,
        ["sbp"] = 730,
        ["egfr"] = 730,
        ["bmi"] = 730,
        ["hba1c"] = 730,
        ["smoking_status"] = 1826,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The medication classes that count as blood-pressure treatment for the equations.</summary>
    public static readonly FrozenSet<string> Antihypertensives = new[] { "ace-inhibitor", "arb", "thiazide", "ccb", "beta-blocker" }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>
    /// The equation for this patient at <paramref name="at"/>. Inputs are the last value within twice the input's window
    /// (<see cref="WindowDays"/>); one older than its window is used and named as stale; none within twice the window
    /// means no estimate. Smoking not recorded is taken as not smoking, and said. A value outside the equation's valid
    /// range gives no estimate (never an extrapolation), with the reason.
    /// </summary>
    public ReferenceEstimate Evaluate(PatientRecord record, DateTimeOffset at)
    {
        var notGiven = new List<string>();
        var lacks = new List<string>();
        var read = new List<string>();
        DateTimeOffset? asOf = null;
        var ci = CultureInfo.InvariantCulture;
        if (Safety.PatientReadings.ObservationsUnavailable(record) is { } unavailable)
        {
            lacks.Add(unavailable);
        }

        double? Input(string analyte, string title, bool required)
        {
            var window = WindowDays[analyte];
            var last = record.LatestOf(analyte, at, finalOnly: true);
            if (Safety.PatientReadings.NewerUnreadable(record, at, last?.At, analyte, title) is { } unread)
            {
                lacks.Add(unread);
            }

            if (last is not { } value || (at - value.At).TotalDays > 2 * window)
            {
                if (required)
                {
                    notGiven.Add(last is { } old
                        ? string.Create(ci, $"the last {title} is {(at - old.At).TotalDays / 365.25:0.#} years old (needed within {2 * window / 365.25:0.#})")
                        : $"no {title} recorded");
                }

                return null;
            }

            if ((at - value.At).TotalDays > window)
            {
                lacks.Add(string.Create(ci, $"{title} from {(at - value.At).TotalDays / 365.25:0.#} years ago, older than the {window / 365.25:0.#}-year window"));
            }

            if (analyte == PatientRecordBuilder.Egfr && Safety.PatientReadings.HowRead(record, value) is { Length: > 0 } how)
            {
                read.Add(string.Create(ci, $"eGFR {value.Value:0} mL/min/1.73 m²{how}"));
            }

            asOf = asOf is null || value.At > asOf ? value.At : asOf;
            return value.Value;
        }

        var age = record.AgeAt(at);
        var female = record.Sex == Sex.Female;
        if (age is null || record.Sex is not (Sex.Female or Sex.Male))
        {
            notGiven.Add(age is null ? "no date of birth" : "the equation is sex-specific and the record's sex is neither female nor male");
        }

        var tc = Input("total_cholesterol", "total cholesterol", required: true);
        var hdl = Input("hdl", "HDL cholesterol", required: true);
        var sbp = Input("sbp", "systolic pressure", required: true);
        var egfr = Input("egfr", "eGFR (or creatinine)", required: true);
        var bmi = Input("bmi", "BMI", required: Equation == PreventOutcome.HeartFailure);
        var hba1c = Input("hba1c", "HbA1c", required: false);
        var smoking = Input("smoking_status", "smoking status", required: false);
        if (smoking is null)
        {
            lacks.Add("smoking status not recorded: taken as not smoking (if the patient smokes, the risk is higher)");
        }

        var diabetic = record.Conditions.Any(c => c.IsActiveAt(at) && c.Groups.Contains("t2d")) || hba1c >= 6.5;
        var treated = record.Medications.Any(m => m.IsActiveAt(at) && m.Classes.Any(c => Antihypertensives.Contains(c)));
        var statin = record.Medications.Any(m => m.IsActiveAt(at) && m.Classes.Contains("statin"));
        if (notGiven.Count > 0 || age is null)
        {
            return new ReferenceEstimate(this, null, notGiven, [], lacks, asOf) { Read = read };
        }

        var inputs = new PreventInputs(female, age.Value, tc!.Value, hdl!.Value, sbp!.Value, bmi ?? 25, egfr!.Value, treated, statin,
            smoking >= 2, diabetic);
        var outside = PreventEquations.OutOfRange(inputs, Equation);
        return outside.Count > 0
            ? new ReferenceEstimate(this, null, [.. outside.Select(o => $"{o}, the range the equation was developed for")], [], lacks, asOf) { Read = read }
            : new ReferenceEstimate(this, PreventEquations.TenYearRisk(Equation, inputs), [], Reasons(PreventEquations.Terms(Equation, inputs), inputs), lacks, asOf) { Read = read };
    }

    /// <summary>The terms grouped by clinical quantity and worded with the patient's own values, largest push first.</summary>
    private static List<ReferenceReason> Reasons(IReadOnlyList<PreventTerm> terms, PreventInputs p)
    {
        var ci = CultureInfo.InvariantCulture;
        string Text(string quantity) => quantity switch
        {
            "age" => string.Create(ci, $"age {p.Age:0}"),
            "non-hdl" => string.Create(ci, $"non-HDL cholesterol {p.TotalCholesterol - p.Hdl:0} mg/dL"),
            "hdl" => string.Create(ci, $"HDL cholesterol {p.Hdl:0} mg/dL"),
            "sbp" => string.Create(ci, $"systolic pressure {p.Sbp:0} mmHg"),
            "diabetes" => "diabetes",
            "smoking" => "current smoking",
            "bmi" => string.Create(ci, $"BMI {p.Bmi:0.#} kg/m²"),
            "egfr" => string.Create(ci, $"eGFR {p.Egfr:0} mL/min/1.73 m²"),
            "bp-treated" => "on blood-pressure treatment",
            "statin" => "on a statin",
            _ => quantity,
        };

        return
        [
            .. terms.Where(t => t.Quantity != "constant")
                .GroupBy(t => t.Quantity, StringComparer.Ordinal)
                .Select(g => new ReferenceReason(g.Key, Text(g.Key), g.Sum(t => t.Contribution)))
                .Where(r => Math.Abs(r.Contribution) >= 0.01)
                .OrderByDescending(r => Math.Abs(r.Contribution)),
        ];
    }
}

/// <summary>The reference models HealthRec knows, by id; an outcome definition names its own (<c>"reference"</c>).</summary>
public static class ReferenceModels
{
    private const string PreventCitation = "Khan SS, Matsushita K, Sang Y, et al. Development and Validation of the American Heart Association's PREVENT Equations. Circulation 2024;149:430–449";
    private const string PreventUrl = "https://doi.org/10.1161/CIRCULATIONAHA.123.067626";
    private const string PreventPopulation = "US adults 30–79 without cardiovascular disease; 3.3 million in 25 derivation data sets (1992–2017); sex-specific, race-free, adjusted for the competing risk of non-cardiovascular death";
    private const string PreventValidation = "published external validation in 3.3 million adults (21 data sets): median C-statistic for total CVD 0.794 in women and 0.757 in men, calibration slope 1.03 and 0.94, similar for the ASCVD and heart-failure equations";

    public static readonly FrozenDictionary<string, ReferenceModel> All = new ReferenceModel[]
    {
        new("prevent-ascvd", "PREVENT (AHA 2024), 10-year ASCVD", "ascvd-10y", PreventCitation, PreventUrl, PreventPopulation, PreventValidation, PreventOutcome.Ascvd),
        new("prevent-cvd", "PREVENT (AHA 2024), 10-year total CVD", "cvd-10y", PreventCitation, PreventUrl, PreventPopulation, PreventValidation, PreventOutcome.TotalCvd),
        new("prevent-hf", "PREVENT (AHA 2024), 10-year heart failure", "hf-10y", PreventCitation, PreventUrl, PreventPopulation, PreventValidation, PreventOutcome.HeartFailure),
    }.ToFrozenDictionary(m => m.Id, StringComparer.Ordinal);
}
