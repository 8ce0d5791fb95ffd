namespace HealthRec.Clinical.Features;

/// <summary>How measurements inside a feature's window become one number.</summary>
[JsonConverter(typeof(SnakeCaseEnumConverter<Aggregation>))]
public enum Aggregation
{
    Last,
    Mean,
    Min,
    Max,
    Count,
    SlopePerYear,
    DaysSinceLast,
}

[JsonConverter(typeof(SnakeCaseEnumConverter<FeatureKind>))]
public enum FeatureKind
{
    /// <summary>Age in whole years at the index date.</summary>
    Age,

    /// <summary>1 when the patient's administrative sex is the feature's <c>value</c>, else 0 (NaN when unknown).</summary>
    Sex,

    /// <summary>An aggregation of an analyte's measurements in the window.</summary>
    Analyte,

    /// <summary>1 when a condition of the group is active at the index date (or, with <c>ever</c>, began before it).</summary>
    Condition,

    /// <summary>1 when a medication of the class is active at the index date.</summary>
    Medication,

    /// <summary>Encounters that started in the window (of the <c>encounterClasses</c>, and of the <c>group</c> by type, when given).</summary>
    Encounters,

    /// <summary>1 when a procedure of the group was done on or before the index date (or, with an aggregation, their count or the days since the last in the window).</summary>
    Procedure,
}

/// <summary>
/// One declared feature. Fields not used by its kind are left out of the JSON. A condition, medication or procedure
/// feature without an aggregation is a 0/1 flag (active at the index date, or ever before it); with <c>count</c> or
/// <c>days_since_last</c> and a window it counts the conditions begun, medicines started or procedures done in the
/// window, or gives the days since the last of them (NaN when none).
/// </summary>
public sealed record FeatureDefinition(
    string Name,
    FeatureKind Kind,
    string? Description = null,
    string? Analyte = null,
    Aggregation? Aggregation = null,
    int? WindowDays = null,
    string? Group = null,
    string? Class = null,
    string? Value = null,
    bool Ever = false,
    bool MissingIndicator = false,
    ImmutableArray<string>? EncounterClasses = null);

/// <summary>
/// The versioned, declarative feature set (default: <c>models/feature-schema.json</c>). One schema serves training,
/// evaluation, batch scoring and the live hook, so the model sees in production exactly what it saw in training.
/// </summary>
public sealed record FeatureSchema(string Id, string Version, string Description, ImmutableArray<FeatureDefinition> Features)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
    };

    public static FeatureSchema Parse(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<FeatureSchema>(json, Json)
                ?? throw new Terminology.TerminologyException("Feature schema is JSON null.");
        }
        catch (JsonException ex)
        {
            throw new Terminology.TerminologyException($"Feature schema is not valid: {ex.Message}");
        }
    }
}
