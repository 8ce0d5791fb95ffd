namespace HealthRec.Fhir.Tests;

/// <summary>Conversions checked against published clinical equivalences, not against the factors themselves.</summary>
public sealed class UnitNormalizerTests
{
    [Theory]
    // Diagnostic thresholds stated in both units by the ADA and lipid guidelines.
    [InlineData("glucose", 7.0, "mmol/L", 126.1, 0.2)]
    [InlineData("glucose", 5.5, "mmol/L", 99.1, 0.2)]
    [InlineData("glucose", 5500, "umol/L", 99.1, 0.2)]
    [InlineData("glucose", 1.0, "g/L", 100.0, 0.001)]
    [InlineData("ldl", 2.6, "mmol/L", 100.5, 0.3)]
    [InlineData("hdl", 1.0, "mmol/L", 38.7, 0.1)]
    [InlineData("total_cholesterol", 5.0, "mmol/L", 193.3, 0.3)]
    [InlineData("triglycerides", 1.7, "mmol/L", 150.6, 0.3)]
    [InlineData("creatinine", 88.4, "umol/L", 1.0, 0.001)]
    [InlineData("hba1c", 48, "mmol/mol", 6.5, 0.05)]
    [InlineData("hba1c", 42, "mmol/mol", 6.0, 0.05)]
    [InlineData("uacr", 3.4, "mg/mmol", 30.0, 0.1)]
    [InlineData("sbp", 16, "kPa", 120.0, 0.1)]
    [InlineData("weight", 154, "[lb_av]", 69.85, 0.01)]
    [InlineData("height", 70, "[in_i]", 177.8, 0.01)]
    [InlineData("height", 1.78, "m", 178.0, 0.001)]
    [InlineData("glucose", 99, "mg/dL", 99.0, 0)]
    // UCUM's own "gram percent" (g% = 1 g/dL): an old lab's "mg%" is mg/dL by the standard, not by a guess.
    [InlineData("glucose", 110, "mg%", 110.0, 1e-9)]
    public void GivenValueInAnotherUnit_WhenNormalized_ThenItMatchesThePublishedEquivalent(string analyte, double value, string unit, double expected, double tolerance)
    {
        var normalizer = new UnitNormalizer();

        var outcome = normalizer.TryNormalize(Analyte(analyte), value, unit, out var canonical);

        Assert.Equal(UnitOutcome.Converted, outcome);
        Assert.InRange(canonical, expected - tolerance, expected + tolerance);
    }

    [Theory]
    [InlineData("glucose")]
    [InlineData("ldl")]
    [InlineData("hdl")]
    [InlineData("total_cholesterol")]
    [InlineData("triglycerides")]
    public void GivenAnyMolarValue_WhenNormalizedInMillimolesAndMicromoles_ThenBothRoadsAgree(string analyte)
    {
        var normalizer = new UnitNormalizer();
        foreach (var mmol in new[] { 0.5, 2.6, 5.5, 11.1, 33.3 })
        {
            normalizer.TryNormalize(Analyte(analyte), mmol, "mmol/L", out var viaMilli);
            normalizer.TryNormalize(Analyte(analyte), mmol * 1000, "umol/L", out var viaMicro);
            normalizer.TryNormalize(Analyte(analyte), viaMilli, "mg/dL", out var identity);

            Assert.Equal(viaMilli, viaMicro, 9);
            Assert.Equal(viaMilli, identity, 12);
        }
    }

    [Theory]
    [InlineData("glucose", "mg", UnitOutcome.Unconvertible)]
    [InlineData("hba1c", "mg/dL", UnitOutcome.Unconvertible)]
    [InlineData("egfr", "mmol/L", UnitOutcome.Unconvertible)]
    [InlineData("egfr", "mg/dL", UnitOutcome.Unconvertible)]
    [InlineData("potassium", "mg/dL", UnitOutcome.Unconvertible)]
    [InlineData("glucose", "not a unit", UnitOutcome.Unknown)]
    [InlineData("glucose", "", UnitOutcome.Unknown)]
    [InlineData("glucose", null, UnitOutcome.Unknown)]
    public void GivenUnitOfTheWrongDimensionOrNoUnit_WhenNormalized_ThenNoValueIsGuessed(string analyte, string? unit, UnitOutcome expected)
    {
        var outcome = new UnitNormalizer().TryNormalize(Analyte(analyte), 5, unit, out var canonical);

        Assert.Equal(expected, outcome);
        Assert.True(double.IsNaN(canonical));
    }

    [Theory]
    [InlineData("egfr", "mL/min/{1.73_m2}", UnitOutcome.Converted)]
    [InlineData("egfr", "mL/min/1.73m2", UnitOutcome.Converted)]
    [InlineData("egfr", "mL/min/1.73 m²", UnitOutcome.Converted)]
    [InlineData("egfr", "ml/min/1.73m2", UnitOutcome.Converted)]
    [InlineData("egfr", "mL/min", UnitOutcome.Equivalent)]
    [InlineData("egfr", "ml/min", UnitOutcome.Equivalent)]
    [InlineData("egfr", "mL/s", UnitOutcome.Equivalent, 1440)]
    [InlineData("egfr", "mL/s/1.73m2", UnitOutcome.Converted, 1440)]
    [InlineData("potassium", "mmol/L", UnitOutcome.Converted)]
    [InlineData("potassium", "mEq/L", UnitOutcome.Converted)]
    [InlineData("potassium", "meq/L", UnitOutcome.Converted)]
    public void GivenTheSpellingsEhrsSendForEgfrAndPotassium_WhenNormalized_ThenEachIsReadAndTheMlPerMinuteEquivalenceSaysSo(string analyte, string unit,
        UnitOutcome expected, double value = 24)
    {
        var outcome = new UnitNormalizer().TryNormalize(Analyte(analyte), 24, unit, out var canonical);

        Assert.Equal(expected, outcome);
        Assert.Equal(value, canonical, 9);
    }

    private static Clinical.Terminology.Analyte Analyte(string id) => Ingestion.Terminology.Analytes.Single(a => a.Id == id);
}
