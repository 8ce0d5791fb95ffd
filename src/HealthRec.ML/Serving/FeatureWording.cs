namespace HealthRec.ML.Serving;

/// <summary>Turns a feature column and its value into words a clinician reads.</summary>
internal sealed class FeatureWording
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;
    private readonly List<(FeatureDefinition Feature, bool MissingIndicator, Analyte? Analyte)> _columns = [];
    private readonly Dictionary<string, CodedAnalyte> _coded;

    public FeatureWording(FeatureSchema schema, ClinicalTerminology terminology)
    {
        _coded = terminology.CodedAnalytes.ToDictionary(c => c.Id, StringComparer.Ordinal);
        foreach (var feature in schema.Features)
        {
            var analyte = feature.Analyte is { } id ? terminology.Analytes.FirstOrDefault(a => a.Id == id) : null;
            _columns.Add((feature, false, analyte));
            if (feature.MissingIndicator)
            {
                _columns.Add((feature, true, analyte));
            }
        }
    }

    /// <summary>A group's mean of a feature against everyone's: shares for yes/no features, values otherwise.</summary>
    public string DescribeMean(int column, double mean, double overall)
    {
        var (feature, missingIndicator, analyte) = _columns[column];
        if (missingIndicator || feature.Kind is FeatureKind.Condition or FeatureKind.Medication or FeatureKind.Sex)
        {
            var what = missingIndicator ? $"no {analyte?.Title ?? (feature.Analyte is { } id ? _coded.GetValueOrDefault(id)?.ShortTitle : null) ?? feature.Name} in the last {Window(feature)}"
                : feature.Kind == FeatureKind.Sex ? feature.Value ?? ""
                : (feature.Kind == FeatureKind.Medication ? "on " : feature.Ever ? "history of " : "") + ClinicalWords.Group(feature.Kind == FeatureKind.Medication ? feature.Class : feature.Group);
            return string.Create(Ci, $"{what}: {mean:P0} (overall {overall:P0})");
        }

        var values = new float[_columns.Count];
        values[column] = (float)mean;
        var overallValues = new float[_columns.Count];
        overallValues[column] = (float)overall;
        return $"{Describe(column, values)} (overall {Describe(column, overallValues)})";
    }

    /// <summary>Whether the column is a measured value of an analyte (its last, mean, highest or lowest), not a count, trend or indicator.</summary>
    public bool IsMeasured(int column)
    {
        var (feature, missingIndicator, _) = _columns[column];
        return !missingIndicator && feature.Kind == FeatureKind.Analyte && feature.Aggregation is Aggregation.Last or Aggregation.Mean or Aggregation.Max or Aggregation.Min;
    }

    /// <summary>The title of an analyte some feature reads, or null when none does.</summary>
    public string? AnalyteTitle(string analyte) =>
        _columns.FirstOrDefault(c => c.Analyte?.Id == analyte) is { Analyte: { } found } ? found.Title : null;

    /// <summary>
    /// Whether the column, at this value, describes a gap in the record: a missing value, or a last result more than a
    /// year old. A recent result's age is part of its analyte's reason, worded by the value itself.
    /// </summary>
    public bool IsGap(int column, float[] values)
    {
        var (feature, missingIndicator, _) = _columns[column];
        return (missingIndicator && values[column] >= 0.5) || float.IsNaN(values[column])
            || (feature.Aggregation == Aggregation.DaysSinceLast && values[column] > StaleAfterDays);
    }

    /// <summary>A last result older than this is a gap the estimate lacks.</summary>
    public const int StaleAfterDays = 365;

    /// <summary>The clinical quantity a column measures (its analyte, condition group or medication class): what contributions are grouped by.</summary>
    public string Quantity(int column)
    {
        var feature = _columns[column].Feature;
        return feature.Analyte ?? feature.Group ?? feature.Class ?? feature.Name;
    }

    public string Describe(int column, float[] values)
    {
        var (feature, missingIndicator, analyte) = _columns[column];
        var value = values[column];
        var coded = feature.Analyte is { } id ? _coded.GetValueOrDefault(id) : null;
        var title = analyte?.Title ?? coded?.ShortTitle ?? feature.Analyte ?? feature.Name;
        if (missingIndicator)
        {
            return value >= 0.5 ? $"no {title} in the last {Window(feature)}" : $"{title} measured in the last {Window(feature)}";
        }

        if (float.IsNaN(value))
        {
            // A trend needs two readings: one reading is recorded, not "not recorded".
            return feature.Aggregation == Aggregation.SlopePerYear
                ? $"{title} trend: fewer than two readings {(feature.WindowDays is null ? "on record" : $"in the last {Window(feature)}")}"
                : $"{title}: not recorded";
        }

        return feature.Kind switch
        {
            FeatureKind.Age => string.Create(Ci, $"age {value:0}"),
            FeatureKind.Sex => value >= 0.5 ? feature.Value ?? "" : $"not {feature.Value}",
            // A coded value in the code system's own words ("Ex-smoker"), not its ordinal.
            FeatureKind.Analyte when coded is not null && feature.Aggregation == Aggregation.Last
                && coded.Labels.TryGetValue((int)Math.Round(value), out var label) => label,
            FeatureKind.Analyte => Analyte(feature, analyte, title, value),
            FeatureKind.Encounters => string.Create(Ci, $"{value:0} visits in the last {Window(feature)}"),
            FeatureKind.Condition when feature.Ever => (value >= 0.5 ? "history of " : "no history of ") + ClinicalWords.Group(feature.Group),
            FeatureKind.Condition => (value >= 0.5 ? "has " : "no ") + ClinicalWords.Group(feature.Group),
            FeatureKind.Medication => (value >= 0.5 ? "on " : "not on ") + ClinicalWords.Group(feature.Class),
            _ => string.Create(Ci, $"{feature.Name} {Number(value)}"),
        };
    }

    /// <summary>
    /// A rule's term that held for the patient, in words with the patient's value: "eGFR 24 mL/min/1.73 m² (low)",
    /// "has type 2 diabetes", "history of MI or stroke", "not on a high-intensity statin".
    /// </summary>
    public string Term(RuleTerm term, float[] values, IReadOnlyDictionary<string, int> columns) => term.Function switch
    {
        "compare" when columns.TryGetValue(term.Name, out var column) => MidSentence(Describe(column, values)),
        "compare" => DerivedValues.Describe(term.Name, term.Value),
        "has" => (term.Negated ? "no " : "has ") + ClinicalWords.Group(term.Name),
        "ever" => (term.Negated ? "no history of " : "history of ") + ClinicalWords.Group(term.Name),
        "on" => (term.Negated ? "not on " : "on ") + ClinicalWords.Group(term.Name),
        var sex => term.Negated ? $"not {sex}" : sex,
    };

    // "Body mass index 31" reads "body mass index 31" inside a list; "HbA1c", "LDL cholesterol" and "eGFR" keep their capitals.
    private static string MidSentence(string text)
    {
        var word = text.AsSpan(0, text.IndexOf(' ') is > 0 and var end ? end : text.Length);
        return word.Length > 1 && char.IsUpper(word[0]) && !word[1..].ContainsAnyExceptInRange('a', 'z')
            ? char.ToLowerInvariant(text[0]) + text[1..]
            : text;
    }

    private static string Analyte(FeatureDefinition feature, Analyte? analyte, string title, float value)
    {
        var unit = analyte?.Unit is { } u && Unit(u) is { Length: > 0 } words ? " " + words : "";
        var interpretation = analyte?.Interpret(value) is { } word && word != "normal" ? $" ({word})" : "";
        return feature.Aggregation switch
        {
            Aggregation.Last => string.Create(Ci, $"{title} {Number(value)}{unit}{interpretation}"),
            Aggregation.Mean => string.Create(Ci, $"{title} averaging {Number(value)}{unit} over {Window(feature)}{interpretation}"),
            Aggregation.Max => string.Create(Ci, $"highest {title} {Number(value)}{unit} in {Window(feature)}{interpretation}"),
            Aggregation.Min => string.Create(Ci, $"lowest {title} {Number(value)}{unit} in {Window(feature)}{interpretation}"),
            Aggregation.Count => string.Create(Ci, $"{value:0} {title} results in {Window(feature)}"),
            Aggregation.SlopePerYear => string.Create(Ci, $"{title} changing {(value >= 0 ? "+" : "−")}{Number(Math.Abs(value))}{unit} a year"),
            Aggregation.DaysSinceLast => string.Create(Ci, $"last {title} {value:0} days ago"),
            _ => string.Create(Ci, $"{title} {Number(value)}{unit}"),
        };
    }

    private static string Number(double value) => Math.Abs(value) >= 100 ? value.ToString("0", Ci) : Math.Abs(value) >= 10 ? value.ToString("0.#", Ci) : value.ToString("0.0#", Ci);

    private static string Unit(string ucum) => ucum switch
    {
        "mm[Hg]" => "mmHg",
        "mL/min/{1.73_m2}" => "mL/min/1.73 m²",
        "{score}" or "1" => "",
        "/min" => "/min",
        "kg/m2" => "kg/m²",
        _ => ucum,
    };

    private static string Window(FeatureDefinition feature) => feature.WindowDays switch
    {
        null => "record",
        >= 365 and var d when d % 365 is 0 or 1 => string.Create(Ci, $"{d / 365} years"),
        var d => string.Create(Ci, $"{d} days"),
    };

}
