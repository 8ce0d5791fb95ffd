using System.Collections.Frozen;

namespace HealthRec.Server.Transparency;

/// <summary>
/// When and from what a job measured an attribute, and the figure with its interval where the attribute is a number:
/// the run (an evaluation id, a model version's training, a gate decision), the data window it read, and whether it is
/// older than <see cref="TransparencyOptions.StaleAfterDays"/>.
/// </summary>
public sealed record AttributeMeasurement(string RunId, DateTimeOffset MeasuredAt, string Window, bool Stale)
{
    /// <summary>What the figure is (e.g. <c>roc_auc</c>); null for an attribute that is a description.</summary>
    public string? Metric { get; init; }

    public double? Estimate { get; init; }

    /// <summary>The 95 % interval of <see cref="Estimate"/>, when one was computed.</summary>
    public double? Low { get; init; }

    public double? High { get; init; }
}

/// <summary>
/// One source attribute of ONC HTI-1 §170.315(b)(11)(iv): its paragraph (<c>B.7.i</c> is (iv)(B)(7)(i)), group, name as
/// the regulation words it, the value HealthRec holds now, and where that value comes from.
/// </summary>
public sealed record SourceAttributeEntry(string Id, string Group, string Name, string Value, string Source)
{
    /// <summary>Set on the attributes the evaluation and retrain jobs fill (groups 6–9 of a predictive intervention).</summary>
    public AttributeMeasurement? Measurement { get; init; }
}

/// <summary>
/// The attribute set of one intervention as shown at one moment: what it describes, every attribute, and a digest of
/// the attributes (SHA-256 of their JSON) that a card carries so that what was shown can be matched to it later.
/// </summary>
public sealed record SourceAttributeSet(string Subject, string Kind, string Version, DateTimeOffset ComputedAt, IReadOnlyList<SourceAttributeEntry> Attributes)
{
    public const string Predictive = "predictive";
    public const string EvidenceBased = "evidence-based";

    public string Regulation => Kind == Predictive ? "45 CFR 170.315(b)(11)(iv)(B)" : "45 CFR 170.315(b)(11)(iv)(A)";

    public string Digest { get; } = DigestOf(Attributes);

    private static readonly JsonSerializerOptions DigestJson = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    private static string DigestOf(IReadOnlyList<SourceAttributeEntry> attributes) =>
        "sha256:" + Convert.ToHexStringLower(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(attributes, DigestJson)));
}

/// <summary>
/// The attributes HTI-1 asks of a decision support intervention, as the regulation lists them: 31 for a predictive one in
/// nine groups (§170.315(b)(11)(iv)(B)) and 13 for an evidence-based one (§170.315(b)(11)(iv)(A)). The builders fill each
/// id; a test checks that every one is there and not empty.
/// </summary>
public static class Hti1
{
    public static readonly IReadOnlyList<(string Id, string Group, string Name)> PredictiveAttributes =
    [
        ("B.1.i", "Details and output of the intervention", "Name and contact information for the intervention developer"),
        ("B.1.ii", "Details and output of the intervention", "Funding source of the intervention's technical implementation"),
        ("B.1.iii", "Details and output of the intervention", "Description of the value that the intervention produces as an output"),
        ("B.1.iv", "Details and output of the intervention", "Whether the output is a prediction, classification, recommendation, evaluation, analysis, or other type of output"),
        ("B.2.i", "Purpose of the intervention", "Intended use of the intervention"),
        ("B.2.ii", "Purpose of the intervention", "Intended patient population(s) for the intervention's use"),
        ("B.2.iii", "Purpose of the intervention", "Intended user(s)"),
        ("B.2.iv", "Purpose of the intervention", "Intended decision-making role for which the intervention was designed (informs, augments, replaces clinical management)"),
        ("B.3.i", "Cautioned out-of-scope use of the intervention", "Tasks, situations, or populations where a user is cautioned against applying the intervention"),
        ("B.3.ii", "Cautioned out-of-scope use of the intervention", "Known risks, inappropriate settings, inappropriate uses, or known limitations"),
        ("B.4.i", "Intervention development details and input features", "Exclusion and inclusion criteria that influenced the training data set"),
        ("B.4.ii", "Intervention development details and input features", "Use of the variables in (b)(11)(iv)(A)(5)–(13) as input features"),
        ("B.4.iii", "Intervention development details and input features", "Demographic representativeness of the training data according to those variables"),
        ("B.4.iv", "Intervention development details and input features", "Relevance of the training data to the intended deployed setting"),
        ("B.5.i", "Process used to ensure fairness in development of the intervention", "Approach taken to ensure that the intervention's output is fair"),
        ("B.5.ii", "Process used to ensure fairness in development of the intervention", "Approaches to manage, reduce, or eliminate bias"),
        ("B.6.i", "External validation process", "Source, clinical setting, or environment where validity and fairness were assessed, other than the training and testing source"),
        ("B.6.ii", "External validation process", "Party that conducted the external testing"),
        ("B.6.iii", "External validation process", "Demographic representativeness of the external data"),
        ("B.6.iv", "External validation process", "Description of the external validation process"),
        ("B.7.i", "Quantitative measures of performance", "Validity in test data from the same source as the training data"),
        ("B.7.ii", "Quantitative measures of performance", "Fairness in test data from the same source as the training data"),
        ("B.7.iii", "Quantitative measures of performance", "Validity in data external to, or from a different source than, the training data"),
        ("B.7.iv", "Quantitative measures of performance", "Fairness in external data"),
        ("B.7.v", "Quantitative measures of performance", "References to evaluations of the intervention's effect on outcomes (morbidity, mortality, length of stay, other)"),
        ("B.8.i", "Ongoing maintenance of intervention implementation and use", "Process and frequency by which validity is monitored over time"),
        ("B.8.ii", "Ongoing maintenance of intervention implementation and use", "Validity in local data"),
        ("B.8.iii", "Ongoing maintenance of intervention implementation and use", "Process and frequency by which fairness is monitored over time"),
        ("B.8.iv", "Ongoing maintenance of intervention implementation and use", "Fairness in local data"),
        ("B.9.i", "Update and continued validation or fairness assessment schedule", "Process and frequency by which the intervention is updated"),
        ("B.9.ii", "Update and continued validation or fairness assessment schedule", "Frequency by which performance is corrected when risks to validity or fairness are identified"),
    ];

    public static readonly IReadOnlyList<(string Id, string Group, string Name)> EvidenceAttributes =
    [
        ("A.1", "Evidence-based intervention", "Bibliographic citation of the intervention (clinical research or guideline)"),
        ("A.2", "Evidence-based intervention", "Developer of the intervention (translation from clinical research or guideline)"),
        ("A.3", "Evidence-based intervention", "Funding source of the intervention's development and technical implementation"),
        ("A.4", "Evidence-based intervention", "Release and, if applicable, revision dates of the intervention or reference source"),
        ("A.5", "Use of demographic and other variables", "Use of race as an expression of the intervention"),
        ("A.6", "Use of demographic and other variables", "Use of ethnicity"),
        ("A.7", "Use of demographic and other variables", "Use of language"),
        ("A.8", "Use of demographic and other variables", "Use of sexual orientation"),
        ("A.9", "Use of demographic and other variables", "Use of gender identity"),
        ("A.10", "Use of demographic and other variables", "Use of sex"),
        ("A.11", "Use of demographic and other variables", "Use of date of birth"),
        ("A.12", "Use of demographic and other variables", "Use of social determinants of health data"),
        ("A.13", "Use of demographic and other variables", "Use of health status assessments data"),
    ];

    /// <summary>
    /// The variables of (iv)(A)(5)–(13) and how HealthRec recognises each among input names (features, rule terms). A
    /// stated mapping, not a guess: health status assessments are USCDI v3's data class (smoking status, pregnancy
    /// status, mental and functional status such as a PHQ-9 score).
    /// </summary>
    public static readonly FrozenDictionary<string, (string Variable, Func<string, bool> Matches)> Variables = new Dictionary<string, (string, Func<string, bool>)>
    {
        ["A.5"] = ("race", n => n.Contains("race", StringComparison.Ordinal)),
        ["A.6"] = ("ethnicity", n => n.Contains("ethnic", StringComparison.Ordinal)),
        ["A.7"] = ("language", n => n.Contains("language", StringComparison.Ordinal)),
        ["A.8"] = ("sexual orientation", n => n.Contains("sexual_orientation", StringComparison.Ordinal)),
        ["A.9"] = ("gender identity", n => n.Contains("gender_identity", StringComparison.Ordinal)),
        ["A.10"] = ("sex", n => n is "sex" || n.StartsWith("sex_", StringComparison.Ordinal)),
        ["A.11"] = ("date of birth", n => n is "age" || n.StartsWith("age_", StringComparison.Ordinal)),
        ["A.12"] = ("social determinants of health", n => n.StartsWith("sdoh", StringComparison.Ordinal) || n.Contains("housing", StringComparison.Ordinal)
            || n.Contains("food_insecurity", StringComparison.Ordinal) || n.Contains("income", StringComparison.Ordinal) || n.Contains("education", StringComparison.Ordinal)),
        ["A.13"] = ("health status assessments", n => n.StartsWith("phq", StringComparison.Ordinal) || n.StartsWith("gad7", StringComparison.Ordinal)
            || n.StartsWith("smoking", StringComparison.Ordinal) || n.Contains("pregnan", StringComparison.Ordinal) || n.Contains("functional_status", StringComparison.Ordinal)),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>For each of (A)(5)–(13), whether any of <paramref name="inputs"/> is that variable, and which.</summary>
    public static IEnumerable<(string Id, string Variable, IReadOnlyList<string> Used)> VariablesUsed(IEnumerable<string> inputs)
    {
        // A qualified name (the ranker's "patient.age_years") is judged by its last part.
        var names = inputs.Distinct(StringComparer.Ordinal).Select(n => (Name: n, Bare: n[(n.LastIndexOf('.') + 1)..].ToLowerInvariant())).ToList();
        return Variables.OrderBy(v => int.Parse(v.Key.AsSpan(2), System.Globalization.CultureInfo.InvariantCulture))
            .Select(v => (v.Key, v.Value.Variable, (IReadOnlyList<string>)[.. names.Where(n => v.Value.Matches(n.Bare)).Select(n => n.Name)]));
    }
}
