using HealthRec.Clinical.Ingestion;
using HealthRec.Clinical.Terminology;
using HealthRec.Clinical.Units;
using HealthRec.Fhir.Ingestion;
using HealthRec.Fhir.Sources;

namespace HealthRec.Fhir.Tests;

/// <summary>
/// A site describes its data in files: analytes under local codes (listed, or named by a ValueSet with an exclusion),
/// a coded value read from text or a boolean, panel components, a condition group of its own; and whatever no
/// definition reads is counted by code for the unused-data report.
/// </summary>
public sealed class SiteTerminologyTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("healthrec-site-terms-");

    public void Dispose() => _folder.Delete(recursive: true);

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
              "expansion": { "contains": [ { "system": "urn:site:path", "code": "M" } ] } } }
          ]
        }
        """;

    private static string Observation(string id, string code, string value) =>
        $$"""{"resourceType":"Observation","id":"{{id}}","status":"final","code":{"coding":[{"system":"{{Lab}}","code":"{{code}}","display":"{{code}} display"}]},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2021-05-01",{{value}}}""";

    private async Task<ClinicalTerminology> SiteTerminologyAsync(params (string Name, string Json)[] files)
    {
        var folder = _folder.CreateSubdirectory("terminology");
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
        var data = _folder.CreateSubdirectory("data");
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
        Assert.Equal([("Condition", "urn:site:path", "B", 1L), ("Observation", Lab, "GLU-CSF", 1L)], unread.Order());
        Assert.Equal("Benign", report.UnreadCodes.Single(u => u.Code == "B").Display);
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
    [InlineData("broken.json", """{"resourceType":"ValueSet",""", "broken.json: not JSON")]
    public async Task GivenAMalformedSiteDefinition_WhenLoaded_ThenItStopsNamingTheFileThePathAndTheReason(string file, string json, string expected)
    {
        var error = await Assert.ThrowsAsync<TerminologyException>(() => SiteTerminologyAsync((file, json)));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
