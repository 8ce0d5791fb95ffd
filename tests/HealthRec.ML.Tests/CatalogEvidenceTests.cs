namespace HealthRec.ML.Tests;

/// <summary>
/// Each suggestion's indication says no more than the evidence it cites. Found on the Synthea records: an 88-year-old
/// offered a high-intensity statin beside a statement for "clinical ASCVD (age ≤ 75)", and a diabetes prevention
/// referral beside "adults with prediabetes and overweight" for a patient of any weight. A GLP-1 agonist offered for a
/// BMI of 30 beside a statement about established ASCVD now waits for evidence of its own in the catalog.
/// </summary>
public sealed class CatalogEvidenceTests
{
    private static bool Indicated(string id, CatalogTests.Patient patient) => CatalogTests.Item(id).Indication.Rule.Evaluate(patient.Build().Context);

    [Theory]
    [InlineData(27.0, true)]
    [InlineData(25.0, true)]
    [InlineData(22.0, false)]
    [InlineData(null, false)]
    public void GivenPrediabetes_WhenTheDiabetesPreventionReferralIsConsidered_ThenOverweightIsNeededAsTheAdaStatementSays(double? bmi, bool expected)
    {
        var patient = new CatalogTests.Patient().Has("prediabetes").With("hba1c", 6.0);
        if (bmi is { } value)
        {
            patient.With("bmi", value);
        }

        Assert.Equal(expected, Indicated("diabetes-prevention-programme", patient));
    }

    [Theory]
    [InlineData("ascvd", 58, true)]
    [InlineData("ascvd", 75, true)]
    [InlineData("ascvd", 88, false)]
    [InlineData("ldl 200", 58, true)]
    [InlineData("ldl 200", 80, false)]
    [InlineData("diabetes on a moderate statin, ldl 130", 58, true)]
    [InlineData("diabetes on a moderate statin, ldl 130", 35, false)]
    [InlineData("diabetes on a moderate statin, ldl 130", 80, false)]
    public void GivenAnAge_WhenAHighIntensityStatinIsConsidered_ThenItIsIndicatedOnlyWithinTheAgesItsEvidenceCovers(string facts, int age, bool expected)
    {
        var patient = new CatalogTests.Patient().Aged(age);
        _ = facts switch
        {
            "ascvd" => patient.Has("ascvd"),
            "ldl 200" => patient.With("ldl", 200),
            _ => patient.Has("t2d").With("ldl", 130).Taking("atorvastatin 20 MG Oral Tablet", "statin", "statin-moderate-intensity"),
        };

        Assert.Equal(expected, Indicated("statin-high", patient));
    }

    [Fact]
    public void GivenAnLdlOf165AndNoOtherRisk_WhenAModerateStatinIsConsidered_ThenItIsNotIndicatedForTheLdlAlone()
    {
        // The cited statement: diabetes, or LDL 70–189 mg/dL with a 10-year risk of 7.5 % or more. An LDL of 160 is a
        // risk-enhancing factor in that guideline, not an indication on its own.
        Assert.False(Indicated("statin-moderate", new CatalogTests.Patient().Aged(45).With("ldl", 165)));
        Assert.True(Indicated("statin-moderate", new CatalogTests.Patient().Aged(45).With("ldl", 165).Has("t2d")));
    }

    [Theory]
    [InlineData("ascvd", true)]
    [InlineData("bmi 38", false)]
    public void GivenTypeTwoDiabetes_WhenAGlp1AgonistIsConsidered_ThenEstablishedAscvdIsWhatItsEvidenceNames(string facts, bool expected)
    {
        var patient = new CatalogTests.Patient().Has("t2d");
        _ = facts == "ascvd" ? patient.Has("ascvd") : patient.With("bmi", 38);

        Assert.Equal(expected, Indicated("glp1-agonist", patient));
    }

    // "Very high risk" in the 2018 AHA/ACC guideline: multiple major ASCVD events, or one (an MI or a stroke here) with
    // several high-risk conditions. HealthRec reads the second; one event and no such condition is not very high risk.
    [Theory]
    [InlineData("ascvd-event", 70, "t2d", true)]
    [InlineData("ascvd-event", 58, "hypertension heart-failure", true)]
    [InlineData("ascvd-event", 58, "hypertension", false)]
    [InlineData("ascvd", 70, "t2d", false)]
    public void GivenAscvdOnAHighIntensityStatin_WhenEzetimibeIsConsidered_ThenVeryHighRiskIsNeededAsItsEvidenceSays(string disease, int age, string conditions,
        bool expected)
    {
        var patient = new CatalogTests.Patient().Aged(age).Has("ascvd").With("ldl", 85)
            .Taking("atorvastatin 80 MG Oral Tablet", "statin", "statin-high-intensity");
        if (disease == "ascvd-event")
        {
            patient.Has("ascvd-event");
        }

        foreach (var group in conditions.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            patient.Has(group);
        }

        Assert.Equal(expected, Indicated("ezetimibe", patient));
    }

    // CHA₂DS₂-VASc: heart failure 1, hypertension 1, age ≥ 75 2, diabetes 1, stroke or TIA 2, vascular disease 1,
    // age 65–74 1, female 1. The 2023 guideline's threshold, ≥ 2 in men and ≥ 3 in women, is two points besides sex.
    [Theory]
    [InlineData("male", 66, "", 1, false)]
    [InlineData("female", 66, "", 2, false)]
    [InlineData("male", 66, "hypertension", 2, true)]
    [InlineData("female", 58, "hypertension", 2, false)]
    [InlineData("female", 58, "hypertension t2d", 3, true)]
    [InlineData("male", 50, "stroke", 2, true)]
    [InlineData("male", 50, "heart-failure", 1, false)]
    [InlineData("male", 50, "heart-failure ascvd", 2, true)]
    [InlineData("female", 76, "", 3, true)]
    [InlineData("male", 76, "", 2, true)]
    public void GivenAtrialFibrillation_WhenAnAnticoagulantIsConsidered_ThenItIsIndicatedFromTheScoreItsEvidenceNames(string sex, int age, string groups,
        int score, bool expected)
    {
        var patient = new CatalogTests.Patient().Aged(age).Has("atrial-fibrillation");
        if (sex == "male")
        {
            patient.Male();
        }

        foreach (var group in groups.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            patient.Has(group);
        }

        Assert.Equal(expected, score >= (sex == "male" ? 2 : 3));
        Assert.Equal(expected, Indicated("anticoagulant-af", patient));
    }

    // KDIGO: refer on a *sustained* decline in eGFR. A slope from two results months apart (an acute kidney injury, or a
    // computed eGFR beside one reported in mL/min, as in a Synthea record: −114 a year) is not one.
    [Theory]
    [InlineData("70@760 62@395 54@30", true)]
    [InlineData("70@760 54@30", false)]
    [InlineData("90@200 60@120 40@30", false)]
    [InlineData("70@760 69@395 68@30", false)]
    public void GivenEgfrResults_WhenANephrologyReferralIsConsidered_ThenAFallOfFiveAYearCountsOnlyWhenSustained(string results, bool expected)
    {
        var patient = new CatalogTests.Patient();
        foreach (var result in results.Split(' '))
        {
            var parts = result.Split('@');
            patient.With("egfr", double.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.Equal(expected, Indicated("nephrology-referral", patient));
    }

    // The borderline statement (IIb) backs only the zone where the hybrid may offer a moderate statin without its
    // indication; a suggestion for a patient with diabetes shows the statement that indicates it, not that one.
    [Fact]
    public void GivenTheModerateStatin_WhenItsEvidenceIsRead_ThenTheBorderlineStatementBacksOnlyItsZone()
    {
        var item = CatalogTests.Item("statin-moderate");

        Assert.DoesNotContain(item.Evidence, e => e.Recommendation.Contains("borderline", StringComparison.Ordinal));
        Assert.Equal("IIb (B-R)", Assert.Single(item.ConsiderEvidence).Strength);
    }

    [Fact]
    public void GivenAZoneWithoutEvidenceOfItsOwn_WhenTheCatalogIsLoaded_ThenItIsRefusedNamingTheItem()
    {
        var bundle = JsonNode.Parse(CatalogTests.CommittedJson)!;
        var statin = bundle["entry"]!.AsArray().Select(e => e!["resource"]!).Single(r => (string)r["id"]! == "statin-moderate");
        statin["relatedArtifact"]!.AsArray().RemoveAt(1);

        var ex = Assert.Throws<CatalogException>(() => CatalogTests.Load(bundle.ToJsonString()));

        Assert.Contains("statin-moderate: consider needs its own evidence", ex.Message, StringComparison.Ordinal);
    }
}
