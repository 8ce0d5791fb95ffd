namespace HealthRec.Fhir.Tests;

/// <summary>
/// The fast reader and the SDK's validating parser must give the same records and the same reports; and the fast
/// reader must really be used on clean data, and really hand unusual data to the validating path.
/// </summary>
public sealed class FastPathTests() : TempFolderTests("healthrec-fast-")
{
    [Fact]
    public async Task GivenTheSharedSyntheaBundles_WhenReadFastAndStrict_ThenRecordsAndReportsAreIdentical()
    {
        var (fast, fastReport) = await ReadAsync(new BundleSource(Ingestion.SyntheaFolder, FhirParsing.Fast));
        var (strict, strictReport) = await ReadAsync(new BundleSource(Ingestion.SyntheaFolder, FhirParsing.Strict));

        Assert.Equal(20, strict.Count);
        Assert.Equal(strict.Select(Describe), fast.Select(Describe));
        // Synthea states race and ethnicity (US Core): both paths read them, by OMB code.
        Assert.All(strict, r => Assert.NotNull(r.Ethnicity));
        Assert.True(strict.Count(r => r.Race is not null) >= 15, string.Join(", ", strict.Select(r => r.Race ?? "-")));
        Assert.All(strict, r => Assert.Contains(r.Race ?? "White", new[] { "White", "Black or African American", "Asian", "American Indian or Alaska Native", "Native Hawaiian or Other Pacific Islander", "More than one race" }));
        AssertSameReport(strictReport, fastReport);
    }

    [Fact]
    public void GivenTheSharedSyntheaBundles_WhenRead_ThenTheFastReaderHandlesEveryOneWithoutFallingBack()
    {
        var files = Directory.GetFiles(Ingestion.SyntheaFolder, "*.json");

        Assert.Equal(20, files.Length);
        Assert.All(files, file => Assert.True(FastResourceReader.TryRead(File.ReadAllBytes(file), out _), Path.GetFileName(file)));
    }

    [Fact]
    public async Task GivenOneResourceOfEachMappedType_WhenReadFastAndStrict_ThenRecordsAndReportsAreIdentical()
    {
        var bundle = "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":["
            + string.Join(",", MapperTests.Resources.Select(r => $"{{\"resource\":{r}}}")) + "]}";
        await File.WriteAllTextAsync(Path.Combine(Folder.FullName, "b.json"), bundle, TestContext.Current.CancellationToken);

        Assert.True(FastResourceReader.TryRead(Encoding.UTF8.GetBytes(bundle), out _));
        var (fast, fastReport) = await ReadAsync(new BundleSource(Folder.FullName, FhirParsing.Fast));
        var (strict, strictReport) = await ReadAsync(new BundleSource(Folder.FullName, FhirParsing.Strict));
        Assert.Equal(Describe(Assert.Single(strict)), Describe(Assert.Single(fast)));
        AssertSameReport(strictReport, fastReport);
    }

    public static TheoryData<string, string> Unusual => new()
    {
        { "decimal as a string", """{"resourceType":"Observation","id":"x","status":"final","code":{"text":"a"},"valueQuantity":{"value":"six"}}""" },
        { "impossible date", """{"resourceType":"Observation","id":"x","status":"final","code":{"text":"a"},"effectiveDateTime":"2020-13-45"}""" },
        { "unknown status code", """{"resourceType":"Observation","id":"x","status":"bogus","code":{"text":"a"}}""" },
        { "null code", """{"resourceType":"Observation","id":"x","status":"final","code":null}""" },
        { "invalid id", """{"resourceType":"Observation","id":"a b","status":"final","code":{"text":"a"}}""" },
        { "value[x] not read", """{"resourceType":"Observation","id":"x","status":"final","code":{"text":"a"},"valueRange":{"low":{"value":1}}}""" },
        { "value[x] of a type Observation does not take", """{"resourceType":"Observation","id":"x","status":"final","code":{"text":"a"},"valueDecimal":1.5}""" },
        { "effective[x] not read", """{"resourceType":"Observation","id":"x","status":"final","code":{"text":"a"},"effectiveTiming":{"event":["2020-01-01"]}}""" },
        { "deceased[x] not read", """{"resourceType":"Patient","id":"x","deceasedString":"yes"}""" },
        { "abatement[x] not in R4", """{"resourceType":"Condition","id":"x","subject":{"reference":"Patient/p"},"abatementBoolean":true}""" },
        { "resourceType not first", """{"id":"x","resourceType":"Observation","status":"final","code":{"text":"a"}}""" },
        { "unknown resource type", """{"resourceType":"Nonsense","id":"x"}""" },
        { "truncated", """{"resourceType":"Observation","id":"x","status":"fin""" },
        { "empty string", """{"resourceType":"Condition","id":"x","code":{"text":""}}""" },
        { "fractional integer", """{"resourceType":"QuestionnaireResponse","id":"x","status":"completed","item":[{"linkId":"a","answer":[{"valueInteger":1.5}]}]}""" },
    };

    [Theory]
    [MemberData(nameof(Unusual))]
    public void GivenUnusualJson_WhenReadFast_ThenTheValidatingPathDecidesAndReportsAsStrictDoes(string why, string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var fastReport = new IngestionReport();
        var strictReport = new IngestionReport();

        Assert.False(FastResourceReader.TryRead(bytes, out _), why);
        var fast = FhirJson.TryParse(bytes, "line 1", fastReport, parsing: FhirParsing.Fast);
        var strict = FhirJson.TryParse(bytes, "line 1", strictReport, parsing: FhirParsing.Strict);
        Assert.Equal(strict is null, fast is null);
        AssertSameReport(strictReport, fastReport);
    }

    // The unusual cases that are JSON (a truncated text inside a larger one makes all of it not JSON: BadRequestTests).
    public static TheoryData<string, string> UnusualJson()
    {
        var data = new TheoryData<string, string>();
        foreach (var (why, json) in Unusual.Select(r => r.Data).Where(r => r.Item1 != "truncated"))
        {
            data.Add(why, json);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(UnusualJson))]
    public void GivenUnusualJsonInsideALargerText_WhenReadInPlace_ThenItIsReadAsStrictDoesAndTheReaderEndsAfterIt(string why, string json)
    {
        var bytes = Encoding.UTF8.GetBytes($$"""[{{json}}, {"resourceType":"Patient","id":"after"}]""");
        var reader = new Utf8JsonReader(bytes, FhirJson.ReaderOptions);
        reader.Read();
        reader.Read();
        var inPlace = new IngestionReport();
        var strictReport = new IngestionReport();

        var read = FhirJson.TryParse(bytes, ref reader, "line 1", inPlace);
        var strict = FhirJson.TryParse(Encoding.UTF8.GetBytes(json), "line 1", strictReport, parsing: FhirParsing.Strict);
        Assert.True(reader.Read() && reader.TokenType == JsonTokenType.StartObject, why);
        var after = FhirJson.TryParse(bytes, ref reader, "line 2", inPlace);

        Assert.Equal(strict is null, read is null);
        AssertSameReport(strictReport, inPlace);
        Assert.Equal("after", after?.Id);
        Assert.True(reader.Read() && reader.TokenType == JsonTokenType.EndArray, why);
    }

    [Fact]
    public void GivenAPrefetchWithAResourceAndASearchset_WhenReadFastAndStrict_ThenTheSameResourcesAreGrouped()
    {
        var prefetch = JsonSerializer.Deserialize<JsonElement>($$"""
            {"patient":{{MapperTests.Resources[0]}},
             "conditions":{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{{MapperTests.Resources[7]}}},{"resource":{{MapperTests.Resources[8]}}}]},
             "none":null}
            """);

        var fast = PrefetchSource.Read(prefetch, "m1", new IngestionReport(), FhirParsing.Fast);
        var strict = PrefetchSource.Read(prefetch, "m1", new IngestionReport(), FhirParsing.Strict);

        Assert.Equal(3, fast.Resources.Count);
        Assert.Equal(strict.Resources.Select(r => $"{r.TypeName}/{r.Id}"), fast.Resources.Select(r => $"{r.TypeName}/{r.Id}"));
    }

    private static async Task<(List<PatientRecord> Records, IngestionReport Report)> ReadAsync(IPatientSource source)
    {
        var report = new IngestionReport();
        return (await Ingestion.ReadAllAsync(source, report), report);
    }

    private static void AssertSameReport(IngestionReport expected, IngestionReport actual)
    {
        Assert.Equal(expected.Patients, actual.Patients);
        Assert.Equal(expected.ResourcesByType.OrderBy(kv => kv.Key, StringComparer.Ordinal), actual.ResourcesByType.OrderBy(kv => kv.Key, StringComparer.Ordinal));
        Assert.Equal(expected.ExcludedByReason.OrderBy(kv => kv.Key, StringComparer.Ordinal), actual.ExcludedByReason.OrderBy(kv => kv.Key, StringComparer.Ordinal));
        Assert.Equal(expected.ProblemsByKind.OrderBy(kv => kv.Key), actual.ProblemsByKind.OrderBy(kv => kv.Key));
        Assert.Equal(expected.AllExamples, actual.AllExamples);
    }

    // Every fact of a record, in order, as text: two records are the same when their descriptions are.
    internal static string Describe(PatientRecord record) => JsonSerializer.Serialize(new
    {
        record.PatientId,
        record.BirthDate,
        record.Sex,
        record.Race,
        record.Ethnicity,
        record.Deceased,
        record.DeceasedAt,
        Measurements = record.Measurements.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList(),
        record.Conditions,
        record.Medications,
        record.Encounters,
        Allergies = record.Allergies.Select(a => new { a.Where, Codes = a.Codes.Select(c => $"{c.System}|{c.Code}|{c.Display}").ToList(), a.Text, a.Categories, a.Type, a.Criticality, a.ClinicalStatus, a.VerificationStatus, a.RecordedAt }).ToList(),
        record.Unread,
        record.Unavailable,
    });
}
