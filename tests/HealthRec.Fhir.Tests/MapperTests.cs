namespace HealthRec.Fhir.Tests;

/// <summary>Each resource type the mapper reads, mapped from a Bundle written for the purpose.</summary>
public sealed class MapperTests() : TempFolderTests("healthrec-mapper-")
{
    private const string Subject = "\"subject\":{\"reference\":\"Patient/m1\"}";

    internal static readonly string[] Resources =
    [
        """{"resourceType":"Patient","id":"m1","gender":"male","birthDate":"1955-03","deceasedDateTime":"2024-02-01T00:00:00Z"}""",
        $$$"""{"resourceType":"MedicationStatement","id":"ms","status":"active",{{{Subject}}},"medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"83367","display":"atorvastatin"}]},"effectivePeriod":{"start":"2019-01-01","end":"2020-01-01"}}""",
        $$$"""{"resourceType":"MedicationStatement","id":"ms-err","status":"entered-in-error",{{{Subject}}},"medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"6809"}]},"effectiveDateTime":"2019-01-01"}""",
        $$$"""{"resourceType":"MedicationRequest","id":"mr","status":"stopped","intent":"order",{{{Subject}}},"medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"316049","display":"Hydrochlorothiazide 25 MG"}]},"authoredOn":"2021-01-01"}""",
        $$$"""{"resourceType":"Encounter","id":"e1","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},{{{Subject}}},"period":{"start":"2021-05-01T09:00:00Z","end":"2021-05-01T09:30:00Z"}}""",
        $$$"""{"resourceType":"QuestionnaireResponse","id":"q1","status":"completed",{{{Subject}}},"authored":"2021-05-01T09:10:00Z","item":[{"linkId":"44261-6","answer":[{"valueInteger":14}]}]}""",
        $$$"""{"resourceType":"DiagnosticReport","id":"d1","status":"final","code":{"text":"Echo"},{{{Subject}}},"effectiveDateTime":"2021-06-01","conclusionCode":[{"coding":[{"system":"http://snomed.info/sct","code":"84114007"}]}]}""",
        $$$"""{"resourceType":"Condition","id":"c1",{{{Subject}}},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"E11.9"}]},"onsetDateTime":"2018-07-01","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]}}""",
        $$$"""{"resourceType":"Condition","id":"c2",{{{Subject}}},"code":{"coding":[{"system":"http://snomed.info/sct","code":"49436004"}]},"onsetDateTime":"2018-07-01","verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"refuted"}]}}""",
        $$$"""{"resourceType":"Observation","id":"o1","status":"preliminary","code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]},{{{Subject}}},"effectiveDateTime":"2021-05-01","valueQuantity":{"value":7.2,"system":"http://unitsofmeasure.org","code":"%"}}""",
        $$$"""{"resourceType":"Observation","id":"o2","status":"entered-in-error","code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]},{{{Subject}}},"effectiveDateTime":"2021-04-01","valueQuantity":{"value":12,"system":"http://unitsofmeasure.org","code":"%"}}""",
        $$$"""{"resourceType":"Observation","id":"o3","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"72166-2"}]},{{{Subject}}},"effectiveDateTime":"2021-05-01","valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"8517006"}]}}""",
        """{"resourceType":"AllergyIntolerance","id":"a1","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"active"}]},"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-verification","code":"unconfirmed"}]},"type":"allergy","category":["medication"],"criticality":"high","code":{"coding":[{"system":"http://snomed.info/sct","code":"91936005","display":"Allergy to penicillin"}],"text":"Penicillin"},"patient":{"reference":"Patient/m1"},"recordedDate":"2015-04-02","reaction":[{"substance":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"7980","display":"Penicillin G"}]},"manifestation":[{"text":"hives"}]}]}""",
        """{"resourceType":"AllergyIntolerance","id":"a2","verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-verification","code":"refuted"}]},"code":{"text":"sulfa"},"patient":{"reference":"Patient/m1"}}""",
        $$$"""{"resourceType":"Observation","id":"o4","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"33914-3"}]},{{{Subject}}},"effectiveDateTime":"2021-05-02","valueQuantity":{"value":24,"system":"http://unitsofmeasure.org","code":"mL/min"}}""",
        $$$"""{"resourceType":"Observation","id":"o5","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2160-0"}]},{{{Subject}}},"effectiveDateTime":"2021-06-02","valueQuantity":{"value":2.1,"system":"http://unitsofmeasure.org","code":"mg/dL"}}""",
        $$$"""{"resourceType":"Observation","id":"o6","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2823-3"}]},{{{Subject}}},"effectiveDateTime":"2021-06-02","valueQuantity":{"value":5.6,"system":"http://unitsofmeasure.org","code":"mL/s"}}""",
    ];

    [Fact]
    public async Task GivenOneOfEachResourceType_WhenMapped_ThenEachLandsInTheRecordAsTheRulesSay()
    {
        await File.WriteAllTextAsync(Path.Combine(Folder.FullName, "bundle.json"),
            "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[" + string.Join(",", Resources.Select(r => $"{{\"resource\":{r}}}")) + "]}",
            TestContext.Current.CancellationToken);
        var report = new IngestionReport();

        var record = Assert.Single(await Ingestion.ReadAllAsync(new BundleSource(Folder.FullName), report));

        // The potassium in mL/s is the one problem: reported, and kept as unread for the checks that need potassium.
        Assert.Equal(1, report.TotalProblems);
        var unread = Assert.Single(record.Unread);
        Assert.Equal(("potassium", "Observation/o6", "Potassium recorded in 'mL/s' on 2021-06-02: not comparable with mmol/L"), (unread.Subject, unread.Where, unread.Why));
        Assert.Equal(new DateOnly(1955, 3, 1), record.BirthDate);
        Assert.Equal(Sex.Male, record.Sex);
        Assert.True(record.Deceased);
        Assert.Equal(new DateTimeOffset(2024, 2, 1, 0, 0, 0, TimeSpan.Zero), record.DeceasedAt);

        var statin = Assert.Single(record.Medications, m => m.Source == MedicationSource.Statement);
        Assert.Contains("statin", statin.Classes);
        Assert.True(statin.IsActiveAt(new DateTimeOffset(2019, 6, 1, 0, 0, 0, TimeSpan.Zero)));
        Assert.False(statin.IsActiveAt(new DateTimeOffset(2020, 1, 2, 0, 0, 0, TimeSpan.Zero)));
        var thiazide = Assert.Single(record.Medications, m => m.Source == MedicationSource.Request);
        Assert.Equal(["thiazide"], thiazide.Classes);
        Assert.Equal(new DateTimeOffset(2021, 1, 1, 0, 0, 0, TimeSpan.Zero) + FhirRecordMapperCover, thiazide.End);

        Assert.Equal("AMB", Assert.Single(record.Encounters).Class);
        Assert.Equal(14, Assert.Single(record.MeasurementsOf("phq9")).Value);
        Assert.Equal(1, Assert.Single(record.MeasurementsOf("smoking_status")).Value);

        var hba1c = Assert.Single(record.MeasurementsOf("hba1c"));
        Assert.Equal(7.2, hba1c.Value, 6);
        Assert.True(hba1c.Preliminary);

        Assert.Equal(["heart-failure", "t2d"], record.Conditions.SelectMany(c => c.Groups).Order(StringComparer.Ordinal));

        // eGFR in mL/min is read under the stated equivalence, and a creatinine without an eGFR that day gets one computed
        // (CKD-EPI 2021, 2.1 mg/dL, man of 66 on 2021-06-02: 34.1), each marked and counted.
        var egfr = record.MeasurementsOf("egfr");
        Assert.Equal([(24.0, ValueBasis.UnitEquivalence), (34.1, ValueBasis.Computed)], egfr.Select(m => (Math.Round(m.Value, 1), m.Basis)));
        Assert.Equal(1, report.Count(IngestionReport.EgfrEquivalence));
        Assert.Equal(1, report.Count(IngestionReport.EgfrComputed));

        // An allergy keeps its codes (the reaction's substance too), statuses and date; a refuted one is left out.
        var allergy = Assert.Single(record.Allergies);
        Assert.Equal(("AllergyIntolerance/a1", "Penicillin", "high", "active", "unconfirmed", "allergy"),
            (allergy.Where, allergy.Text, allergy.Criticality, allergy.ClinicalStatus, allergy.VerificationStatus, allergy.Type));
        Assert.Equal(["medication"], allergy.Categories);
        Assert.Equal(["http://snomed.info/sct|91936005", "http://www.nlm.nih.gov/research/umls/rxnorm|7980"], allergy.Codes.Select(c => $"{c.System}|{c.Code}"));
        Assert.Equal(new DateTimeOffset(2015, 4, 2, 0, 0, 0, TimeSpan.Zero), allergy.RecordedAt);
        Assert.DoesNotContain(record.Conditions, c => c.Groups.Contains("atrial-fibrillation"));
        Assert.Equal(new Dictionary<string, long>
        {
            ["AllergyIntolerance refuted"] = 1,
            ["Condition refuted"] = 1,
            ["MedicationStatement enteredinerror"] = 1,
            ["Observation enteredinerror"] = 1,
        }, report.ExcludedByReason);
    }

    private static readonly TimeSpan FhirRecordMapperCover = Ingestion.FhirRecordMapperCover;
}
