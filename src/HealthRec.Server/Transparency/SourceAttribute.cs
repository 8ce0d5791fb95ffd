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

    public string Regulation => Hti1.Regulation(Kind);

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
    private const string Resource = "HealthRec.Server.Transparency.hti1-source-attributes.json";

    private static readonly Lists Listed = Clinical.EmbeddedData.Read<Lists>(typeof(Hti1).Assembly, Resource);

    public static IReadOnlyList<(string Id, string Group, string Name)> PredictiveAttributes { get; } = Flatten(Listed.Predictive);

    public static IReadOnlyList<(string Id, string Group, string Name)> EvidenceAttributes { get; } = Flatten(Listed.Evidence);

    /// <summary>The paragraph of the regulation that lists a kind's attributes.</summary>
    public static string Regulation(string kind) => kind == SourceAttributeSet.Predictive ? Listed.Predictive.Regulation : Listed.Evidence.Regulation;

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

    // The lists are data beside the code (Transparency/hti1-source-attributes.json, embedded): the regulation's text, by group.
    private static (string Id, string Group, string Name)[] Flatten(Kind kind) =>
        [.. kind.Groups.SelectMany(g => g.Attributes.Select(a => (a.Id, g.Group, a.Name)))];

    private sealed record Lists(string Source, Kind Predictive, Kind Evidence);

    private sealed record Kind(string Regulation, IReadOnlyList<AttributeGroup> Groups);

    private sealed record AttributeGroup(string Group, IReadOnlyList<Attribute> Attributes);

    private sealed record Attribute(string Id, string Name);
}
