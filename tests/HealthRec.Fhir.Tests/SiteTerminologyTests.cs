namespace HealthRec.Fhir.Tests;

/// <summary>
/// A site describes its data in files: analytes under local codes (listed, or named by a ValueSet with an exclusion),
/// a coded value read from text or a boolean, panel components, a condition group of its own; and whatever no
/// definition reads is counted by code for the unused-data report.
/// </summary>
public sealed class SiteTerminologyTests() : TempFolderTests("healthrec-site-terms-")
{
    private const string Lab = "urn:site:lab";

    private const string SiteAnalytes = $$"""
        {
          "analytes": [
            { "id": "tumour_radius", "title": "Mean tumour radius", "unit": "mm", "codes": ["{{Lab}}|RAD"], "conversions": [], "plausible": [0, 100] },
            { "id": "site_glucose", "title": "Point-of-care glucose", "unit": "mg/dL", "valueSet": "site-glucose", "conversions": [], "plausible": [10, 2000] },
            { "id": "cp_pain", "title": "Exercise angina", "unit": "1", "codes": ["{{Lab}}|EXANG"], "conversions": [], "plausible": [0, 1] }
          ],
          "coded": [
            { "id": "chest_pain_type", "title": "Chest pain type (1 typical .. 4 asymptomatic)", "codes": ["{{Lab}}|CP"], "system": "{{Lab}}",
              "values": { "1": [["typ", "Typical angina"]], "4": [["asy", "Asymptomatic"]] }, "unknown": [] }
          ]
        }
        """;

    private const string SiteValueSets = $$"""
        {
          "resourceType": "Bundle", "type": "collection",
          "entry": [
            { "resource": { "resourceType": "ValueSet", "id": "site-glucose", "description": "Site glucose codes (site lab catalogue)",
              "compose": { "include": [ { "system": "{{Lab}}", "concept": [ { "code": "GLU" }, { "code": "GLU-POC" }, { "code": "GLU-CSF" } ] } ],
                           "exclude": [ { "system": "{{Lab}}", "concept": [ { "code": "GLU-CSF" } ] } ] } } },
            { "resource": { "resourceType": "ValueSet", "id": "condition-site-malignant", "description": "Malignant tumour (site pathology codes)",
              "expansion": { "contains": [ { "system": "urn:site:path", "code": "M" } ] } } },
            { "resource": { "resourceType": "ValueSet", "id": "encounter-oncology", "description": "Oncology clinic visits (site visit types)",
              "compose": { "include": [ { "system": "urn:site:visit", "concept": [ { "code": "ONC" } ] } ] } } },
            { "resource": { "resourceType": "ValueSet", "id": "procedure-biopsy", "description": "Biopsies (SNOMED CT)",
              "compose": { "include": [ { "system": "http://snomed.info/sct", "concept": [ { "code": "86273004", "display": "Biopsy" } ] } ] } } }
          ]
        }
        """;

    private static string Observation(string id, string code, string value) =>
        $$"""{"resourceType":"Observation","id":"{{id}}","status":"final","code":{"coding":[{"system":"{{Lab}}","code":"{{code}}","display":"{{code}} display"}]},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2021-05-01",{{value}}}""";

    private async Task<ClinicalTerminology> SiteTerminologyAsync(params (string Name, string Json)[] files)
    {
        var folder = Folder.CreateSubdirectory("terminology");
        foreach (var (name, json) in files)
        {
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, name), json, TestContext.Current.CancellationToken);
        }

        // The core documents come from the shipped folder (found above the test's binaries): the site's folder holds only its own files.
        return TerminologyFiles.Load(folder.FullName);
    }

    [Fact]
    public async Task GivenLocalCodesDescribedInSiteFiles_WhenABundleIsMapped_ThenEveryValueIsReadAndTheRestIsCountedAsUnread()
    {
        var terminology = await SiteTerminologyAsync(("site-analytes.json", SiteAnalytes), ("site-valuesets.json", SiteValueSets));
        Assert.Contains("site-malignant", terminology.ConditionGroups);
        Assert.Contains("t2d", terminology.ConditionGroups); // the defaults are still there
        var data = Folder.CreateSubdirectory("data");
        string[] resources =
        [
            """{"resourceType":"Patient","id":"p1","gender":"female","birthDate":"1960-01-01"}""",
            Observation("o1", "RAD", "\"valueQuantity\":{\"value\":14.2,\"system\":\"http://unitsofmeasure.org\",\"code\":\"mm\"}"),
            Observation("o2", "GLU-POC", "\"valueQuantity\":{\"value\":101,\"system\":\"http://unitsofmeasure.org\",\"code\":\"mg/dL\"}"),
            Observation("o3", "GLU-CSF", "\"valueQuantity\":{\"value\":60,\"system\":\"http://unitsofmeasure.org\",\"code\":\"mg/dL\"}"),
            Observation("o4", "CP", "\"valueString\":\"asymptomatic\""),
            Observation("o5", "EXANG", "\"valueBoolean\":true"),
            Observation("o6", "PANEL", "\"component\":[{\"code\":{\"coding\":[{\"system\":\"urn:site:lab\",\"code\":\"RAD\"}]},\"valueQuantity\":{\"value\":9.5,\"system\":\"http://unitsofmeasure.org\",\"code\":\"cm\"}}]"),
            Observation("o7", "CP", "\"valueCodeableConcept\":{\"coding\":[{\"system\":\"urn:site:lab\",\"code\":\"typ\"}]}"),
            """{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"},"code":{"coding":[{"system":"urn:site:path","code":"M"}]},"onsetDateTime":"2021-06-01"}""",
            """{"resourceType":"Condition","id":"c2","subject":{"reference":"Patient/p1"},"code":{"coding":[{"system":"urn:site:path","code":"B","display":"Benign"}]},"onsetDateTime":"2021-06-01"}""",
            """{"resourceType":"Procedure","id":"pr1","status":"completed","subject":{"reference":"Patient/p1"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"86273004"}]},"performedDateTime":"2021-04-20"}""",
            """{"resourceType":"Procedure","id":"pr2","status":"completed","subject":{"reference":"Patient/p1"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"86273004"}]},"performedPeriod":{"start":"2021-05-02"}}""",
            """{"resourceType":"Procedure","id":"pr3","status":"not-done","subject":{"reference":"Patient/p1"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"86273004"}]},"performedDateTime":"2021-05-03"}""",
            """{"resourceType":"Procedure","id":"pr4","status":"completed","subject":{"reference":"Patient/p1"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"73761001","display":"Colonoscopy"}]},"performedDateTime":"2021-05-04"}""",
            """{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"IMP"},"subject":{"reference":"Patient/p1"},"period":{"start":"2021-04-01","end":"2021-04-05"}}""",
            """{"resourceType":"Encounter","id":"e2","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/p1"},"period":{"start":"2021-04-20"},"type":[{"coding":[{"system":"urn:site:visit","code":"ONC"}]}]}""",
            """{"resourceType":"Observation","id":"cod","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"69453-9"}]},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2021-07-01","valueCodeableConcept":{"coding":[{"system":"urn:site:path","code":"M"}]}}""",
        ];
        await File.WriteAllTextAsync(Path.Combine(data.FullName, "bundle.json"),
            "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[" + string.Join(",", resources.Select(r => $"{{\"resource\":{r}}}")) + "]}",
            TestContext.Current.CancellationToken);
        var report = new IngestionReport();
        var mapper = new FhirRecordMapper(terminology, new UnitNormalizer());

        var records = new List<Clinical.Records.PatientRecord>();
        await foreach (var r in RecordReader.ReadAsync(new BundleSource(data.FullName), mapper, report, TestContext.Current.CancellationToken))
        {
            records.Add(r);
        }

        var record = Assert.Single(records);
        Assert.Equal(0, report.TotalProblems);
        Assert.Equal([14.2, 95], record.MeasurementsOf("tumour_radius").Select(m => m.Value).Order());
        Assert.Equal(101, Assert.Single(record.MeasurementsOf("site_glucose")).Value);
        Assert.Equal([1.0, 4.0], record.MeasurementsOf("chest_pain_type").Select(m => m.Value).Order());
        Assert.Equal(1, Assert.Single(record.MeasurementsOf("cp_pain")).Value);
        Assert.Equal(["site-malignant"], Assert.Single(record.Conditions).Groups);
        var unread = report.UnreadCodes.Select(u => (u.ResourceType, u.System, u.Code, u.Count)).ToList();
        Assert.Equal([("Condition", "urn:site:path", "B", 1L), ("Observation", Lab, "GLU-CSF", 1L), ("Procedure", "http://snomed.info/sct", "73761001", 1L)], unread.Order());
        Assert.Equal("Benign", report.UnreadCodes.Single(u => u.Code == "B").Display);
        Assert.Equal(1, report.ExcludedByReason["Procedure not-done"]);

        // Counts and recency over a look-back window: procedures of a group, encounters of a class, conditions begun.
        Assert.Equal([new DateTimeOffset(2021, 4, 20, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2021, 5, 2, 0, 0, 0, TimeSpan.Zero)], record.Procedures.Select(p => p.At));
        var schema = Clinical.Features.FeatureSchema.Parse("""
            { "id": "site", "version": "1", "description": "d", "features": [
              { "name": "biopsy_ever", "kind": "procedure", "group": "biopsy" },
              { "name": "biopsies_90d", "kind": "procedure", "group": "biopsy", "aggregation": "count", "windowDays": 90 },
              { "name": "days_since_biopsy", "kind": "procedure", "group": "biopsy", "aggregation": "days_since_last", "windowDays": 365 },
              { "name": "admissions_1y", "kind": "encounters", "encounterClasses": ["IMP"], "aggregation": "count", "windowDays": 365 },
              { "name": "visits_1y", "kind": "encounters", "aggregation": "count", "windowDays": 365 },
              { "name": "malignancy_diagnoses_1y", "kind": "condition", "group": "site-malignant", "aggregation": "count", "windowDays": 365 },
              { "name": "oncology_visits_1y", "kind": "encounters", "group": "oncology", "aggregation": "count", "windowDays": 365 }
            ] }
            """);
        var featurizer = Clinical.Features.Featurizer.Compile(schema, terminology);
        Assert.Equal([1f, 2f, 10f, 1f, 2f, 0f, 1f], featurizer.Featurize(record, new DateTimeOffset(2021, 5, 12, 0, 0, 0, TimeSpan.Zero)));
        Assert.Equal([1f, 2f, 41f, 1f, 2f, 1f, 1f], featurizer.Featurize(record, new DateTimeOffset(2021, 6, 12, 0, 0, 0, TimeSpan.Zero)));
        Assert.Equal([0f, 0f, float.NaN, 0f, 0f, 0f, 0f], featurizer.Featurize(record, new DateTimeOffset(2021, 3, 1, 0, 0, 0, TimeSpan.Zero)));
        // The cause of death (LOINC 69453-9) is read as the condition groups of its coded value.
        Assert.Equal(["site-malignant"], record.DeathCauseGroups!.Value);
    }

    [Theory]
    [InlineData("site.json", """{"analytes":[{"id":"x","title":"X","unit":"mg","loinc":["1-1"],"conversions":[],"plausible":[0,1]}]}""",
        "site.json: analytes[0]: 'loinc' was renamed 'codes'")]
    [InlineData("site.json", """{"analytes":[{"id":"x","title":"X","unit":"mg","codes":["GLU"],"conversions":[],"plausible":[0,1]}]}""",
        "site.json: analytes[0].codes[0]: 'GLU' is not a system|code token")]
    [InlineData("site.json", """{"analytes":[{"id":"x","title":"X","unit":"mg","valueSet":"nowhere","conversions":[],"plausible":[0,1]}]}""",
        "site.json: analytes[0]: value set 'nowhere' is in no terminology document")]
    [InlineData("sets.json", """{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient"}}]}""",
        "sets.json: entry[0] is not a ValueSet")]
    [InlineData("sets.json", """{"resourceType":"ValueSet","id":"condition-x","description":"d","compose":{"include":[{"system":"http://snomed.info/sct","filter":[{"property":"concept","op":"descendent-of","value":"1"}]}]}}""",
        "sets.json: ValueSet (ValueSet 'condition-x'): compose.include[0].filter[0] (http://snomed.info/sct, 'descendent-of') cannot be evaluated offline")]
    [InlineData("sets.json", """{"resourceType":"ValueSet","id":"condition-y","compose":{"include":[{"system":"urn:a","concept":[{"code":"1"}]}]}}""",
        "sets.json: ValueSet (ValueSet 'condition-y') has no description")]
    [InlineData("notes.json", """{"hello":"world"}""", "notes.json: not a ValueSet or a Bundle with entries")]
    [InlineData("sets.json", """{"resourceType":"ValueSet","id":"procedure-x","description":"d","compose":{"include":[{"system":"urn:a","concept":[{}]}]}}""",
        "sets.json: ValueSet (ValueSet 'procedure-x'): compose.include[0].concept[0] has no code")]
    [InlineData("broken.json", """{"resourceType":"ValueSet",""", "broken.json: not JSON")]
    [InlineData("site.json", """{"analytes":[{"id":"hba1c","title":"X","unit":"%","codes":["urn:site|A1C"],"conversions":[],"plausible":[3,20]}]}""",
        "analytes: id 'hba1c' is declared more than once (analytes.json: analytes[0]; site.json: analytes[0])")]
    [InlineData("site.json", """{"analytes":[{"id":"site_glucose","title":"X","unit":"mg/dL","codes":["http://loinc.org|2345-7"],"conversions":[],"plausible":[20,1500]}]}""",
        "analytes: http://loinc.org|2345-7 is listed for more than one analyte (glucose, site_glucose)")]
    public async Task GivenAMalformedSiteDefinition_WhenLoaded_ThenItStopsNamingTheFileThePathAndTheReason(string file, string json, string expected)
    {
        var error = await Assert.ThrowsAsync<TerminologyException>(() => SiteTerminologyAsync((file, json)));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
