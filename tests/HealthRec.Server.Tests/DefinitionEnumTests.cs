using HealthRec.Clinical.Features;
using HealthRec.Clinical.Outcomes;
using HealthRec.Server.Ingestion;

namespace HealthRec.Server.Tests;

/// <summary>
/// The enums of the definition files (features, outcomes, table mappings) are written in snake_case by one converter; the
/// names a site's files use must read and write exactly as documented, and a name that is not a member is refused.
/// </summary>
public sealed class DefinitionEnumTests
{
    public static TheoryData<object, string> Names => new()
    {
        { Aggregation.Last, "last" },
        { Aggregation.SlopePerYear, "slope_per_year" },
        { Aggregation.DaysSinceLast, "days_since_last" },
        { FeatureKind.Encounters, "encounters" },
        { OutcomeKind.Regression, "regression" },
        { ThresholdPolicy.MaxF1, "max_f1" },
        { LandmarkAnchor.Discharge, "discharge" },
        { TableLayout.Measurement, "measurement" },
        { CellType.WholeNumber, "integer" },
        { CellType.Code, "code" },
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void GivenAMember_WhenWrittenAndReadBack_ThenItsFileNameIsTheDocumentedOne(object member, string name)
    {
        var json = JsonSerializer.Serialize(member, member.GetType());

        Assert.Equal($"\"{name}\"", json);
        Assert.Equal(member, JsonSerializer.Deserialize(json, member.GetType()));
    }

    [Theory]
    [InlineData(typeof(Aggregation), "\"slope-per-year\"")]
    [InlineData(typeof(ThresholdPolicy), "\"max_f_1\"")]
    [InlineData(typeof(CellType), "\"whole_number\"")]
    public void GivenANameThatIsNotAMember_WhenRead_ThenItIsRefused(Type type, string json) =>
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize(json, type));
}
