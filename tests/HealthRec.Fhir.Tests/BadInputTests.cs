namespace HealthRec.Fhir.Tests;

/// <summary>Every kind of bad input is counted and reported with where it was, and the rest is still read.</summary>
public sealed class BadInputTests() : TempFolderTests("healthrec-bad-input-")
{
    private const string Patient = """{"resourceType":"Patient","id":"p1","gender":"female","birthDate":"1960-05-01"}""";

    private static string Observation(string id, string code, string value) =>
        $$"""{"resourceType":"Observation","id":"{{id}}","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"{{code}}"}]},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2020-01-0{{id.Length % 9 + 1}}T10:00:00Z"{{value}}}""";

    private static string Quantity(double value, string unit) =>
        $$""","valueQuantity":{"value":{{value.ToString(System.Globalization.CultureInfo.InvariantCulture)}},"system":"http://unitsofmeasure.org","code":"{{unit}}"}""";

    private Task<(IngestionReport Report, Clinical.Records.PatientRecord Record)> ReadNdjsonAsync(params string[] observationLines) =>
        ReadNdjsonAsync(Patient, observationLines);

    private async Task<(IngestionReport Report, Clinical.Records.PatientRecord Record)> ReadNdjsonAsync(string patient, string[] observationLines)
    {
        await File.WriteAllTextAsync(Path.Combine(Folder.FullName, "Patient.ndjson"), patient + "\n", TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(Folder.FullName, "Observation.ndjson"), string.Join("\n", observationLines) + "\n", TestContext.Current.CancellationToken);
        var report = new IngestionReport();
        var records = await Ingestion.ReadAllAsync(new NdjsonSource(Folder.FullName), report);
        return (report, Assert.Single(records));
    }

    private static string GoodHbA1c => Observation("good", "4548-4", Quantity(6.1, "%"));

    [Fact]
    public async Task GivenTruncatedJsonLine_WhenRead_ThenItIsReportedWithItsLineAndTheRestIsRead()
    {
        var (report, record) = await ReadNdjsonAsync(GoodHbA1c, """{"resourceType":"Observation","id":"cut","status":"fin""");

        Assert.Equal(1, report.Count(ProblemKind.MalformedJson));
        Assert.Equal("Observation.ndjson:2", report.Examples(ProblemKind.MalformedJson)[0].Where);
        Assert.Equal(6.1, record.MeasurementsOf("hba1c").Single().Value, 6);
    }

    [Fact]
    public async Task GivenALineCutAfterItsSubject_WhenRead_ThenItIsReportedOnceWithItsLineAndTheRestIsRead()
    {
        // The scan that groups lines by patient stops reading at the subject; the full parse still finds the cut.
        var cut = Observation("cut", "4548-4", Quantity(7.5, "%"))[..^20];
        var (report, record) = await ReadNdjsonAsync(GoodHbA1c, cut);

        Assert.Equal(1, report.Count(ProblemKind.MalformedJson) + report.Count(ProblemKind.InvalidResource));
        Assert.StartsWith("Observation.ndjson:2", (report.Examples(ProblemKind.MalformedJson).Concat(report.Examples(ProblemKind.InvalidResource))).Single().Where,
            StringComparison.Ordinal);
        Assert.Equal(6.1, record.MeasurementsOf("hba1c").Single().Value, 6);
    }

    [Fact]
    public async Task GivenObservationWithoutValue_WhenRead_ThenMissingValueIsReported()
    {
        var (report, record) = await ReadNdjsonAsync(GoodHbA1c, Observation("novalue", "2345-7", ""));

        Assert.Equal(1, report.Count(ProblemKind.MissingValue));
        Assert.Contains("Observation/novalue", report.Examples(ProblemKind.MissingValue)[0].Where, StringComparison.Ordinal);
        Assert.True(record.MeasurementsOf("glucose").IsEmpty);
        Assert.Single(record.MeasurementsOf("hba1c"));
    }

    [Fact]
    public async Task GivenGlucoseInMilligrams_WhenRead_ThenTheUnitIsReportedAsUnconvertibleAndNotGuessed()
    {
        var (report, record) = await ReadNdjsonAsync(GoodHbA1c, Observation("mg", "2345-7", Quantity(95, "mg")));

        Assert.Equal(1, report.Count(ProblemKind.UnconvertibleUnit));
        Assert.Contains("'mg'", report.Examples(ProblemKind.UnconvertibleUnit)[0].Message, StringComparison.Ordinal);
        Assert.True(record.MeasurementsOf("glucose").IsEmpty);
    }

    [Fact]
    public async Task GivenUnitThatIsNotUcum_WhenRead_ThenItIsReportedAsUnknown()
    {
        var (report, record) = await ReadNdjsonAsync(Observation("words", "2345-7", Quantity(95, "milligrams per decilitre")));

        Assert.Equal(1, report.Count(ProblemKind.UnknownUnit));
        Assert.True(record.MeasurementsOf("glucose").IsEmpty);
    }

    [Fact]
    public async Task GivenABirthDateAfterTheFirstResult_WhenRead_ThenItIsReportedAndNoAgeIsGivenBeforeIt()
    {
        var (report, record) = await ReadNdjsonAsync(Patient.Replace("1960-05-01", "2030-01-01", StringComparison.Ordinal), [GoodHbA1c]);

        Assert.Equal(1, report.Count(ProblemKind.ImplausibleValue));
        Assert.Contains("birth date 2030-01-01 is after the record's first activity on 2020-01-0", report.Examples(ProblemKind.ImplausibleValue)[0].Message, StringComparison.Ordinal);
        Assert.Null(record.AgeAt(new DateTimeOffset(2024, 6, 1, 0, 0, 0, TimeSpan.Zero)));
        Assert.Equal(0, record.AgeAt(new DateTimeOffset(2030, 6, 1, 0, 0, 0, TimeSpan.Zero)));
    }

    [Theory]
    [InlineData("<", Clinical.Records.ValueBound.Below)]
    [InlineData(">=", Clinical.Records.ValueBound.AtLeast)]
    [InlineData(null, Clinical.Records.ValueBound.Exact)]
    public async Task GivenAResultReportedAsABound_WhenRead_ThenItIsKeptAtItsBoundaryWithItsComparator(string? comparator, Clinical.Records.ValueBound expected)
    {
        var value = comparator is null ? Quantity(60, "mL/min/{1.73_m2}") : Quantity(60, "mL/min/{1.73_m2}").Replace("{\"value\"", $"{{\"comparator\":\"{comparator}\",\"value\"", StringComparison.Ordinal);

        var (_, record) = await ReadNdjsonAsync(Observation("egfr", "33914-3", value));

        var egfr = Assert.Single(record.MeasurementsOf("egfr"));
        Assert.Equal(60, egfr.Value, 6);
        Assert.Equal(expected, egfr.Bound);
    }

    [Fact]
    public async Task GivenSystolicPressureOf900_WhenRead_ThenItIsDroppedAndReportedAsImplausible()
    {
        var (report, record) = await ReadNdjsonAsync(Observation("sbp900", "8480-6", Quantity(900, "mm[Hg]")), Observation("sbp130", "8480-6", Quantity(130, "mm[Hg]")));

        Assert.Equal(1, report.Count(ProblemKind.ImplausibleValue));
        Assert.Equal([130.0], record.MeasurementsOf("sbp").Select(m => m.Value));
    }

    [Fact]
    public async Task GivenFiftyMegabyteLine_WhenRead_ThenItIsSkippedAsTooLongAndTheRestIsRead()
    {
        var huge = new StringBuilder("{\"resourceType\":\"Observation\",\"note\":[{\"text\":\"");
        huge.Append('x', 50 * 1024 * 1024);
        huge.Append("\"}]}");

        var (report, record) = await ReadNdjsonAsync(huge.ToString(), GoodHbA1c);

        Assert.Equal(1, report.Count(ProblemKind.LineTooLong));
        Assert.Equal("Observation.ndjson:1", report.Examples(ProblemKind.LineTooLong)[0].Where);
        Assert.Single(record.MeasurementsOf("hba1c"));
    }

    [Fact]
    public async Task GivenObservationOfAnUnknownPatient_WhenRead_ThenItIsReported()
    {
        var stranger = GoodHbA1c.Replace("Patient/p1", "Patient/nobody", StringComparison.Ordinal).Replace("\"good\"", "\"stranger\"", StringComparison.Ordinal);

        var (report, _) = await ReadNdjsonAsync(GoodHbA1c, stranger);

        Assert.Equal(1, report.Count(ProblemKind.UnknownPatientReference));
        Assert.Contains("nobody", report.Examples(ProblemKind.UnknownPatientReference)[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenInvalidFhirElement_WhenRead_ThenTheResourceIsReportedAsInvalid()
    {
        var (report, record) = await ReadNdjsonAsync(GoodHbA1c, Observation("bad", "4548-4", ",\"valueQuantity\":{\"value\":\"six\"}"));

        Assert.Equal(1, report.Count(ProblemKind.InvalidResource));
        Assert.Single(record.MeasurementsOf("hba1c"));
    }

    [Fact]
    public async Task GivenBundleFolderWithWrongTypeEmptyEntryAndTruncatedFile_WhenRead_ThenEachIsReportedAndTheGoodBundleIsRead()
    {
        var ct = TestContext.Current.CancellationToken;
        await File.WriteAllTextAsync(Path.Combine(Folder.FullName, "a-good.json"),
            $$"""{"resourceType":"Bundle","type":"collection","entry":[{"resource":{{Patient}}},{"fullUrl":"urn:uuid:8f0a8b3e-7b3a-4c7e-9f55-1a7c2b9d0e11"},{"resource":{{GoodHbA1c}}}]}""", ct);
        await File.WriteAllTextAsync(Path.Combine(Folder.FullName, "b-patient.json"), Patient, ct);
        await File.WriteAllTextAsync(Path.Combine(Folder.FullName, "c-truncated.json"), """{"resourceType":"Bundle","type":"coll""", ct);
        var report = new IngestionReport();

        var records = await Ingestion.ReadAllAsync(new BundleSource(Folder.FullName), report);

        Assert.True(records.Count == 1, string.Join("\n", report.AllExamples.Select(p => $"{p.Kind} {p.Where}: {p.Message}")));
        Assert.Single(records[0].MeasurementsOf("hba1c"));
        Assert.Equal(1, report.Count(ProblemKind.EntryWithoutResource));
        Assert.Equal(1, report.Count(ProblemKind.UnexpectedResourceType));
        Assert.Equal("b-patient.json", report.Examples(ProblemKind.UnexpectedResourceType)[0].Where);
        Assert.Equal(1, report.Count(ProblemKind.MalformedJson) + report.Count(ProblemKind.InvalidResource));
    }

    [Fact]
    public async Task GivenBundleWithOneInvalidElement_WhenRead_ThenTheElementIsReportedAndTheOtherEntriesAreKept()
    {
        var ct = TestContext.Current.CancellationToken;
        await File.WriteAllTextAsync(Path.Combine(Folder.FullName, "bundle.json"),
            $$"""{"resourceType":"Bundle","type":"collection","entry":[{"resource":{{Patient}}},{"fullUrl":"urn:uuid:1"},{"resource":{{GoodHbA1c}}}]}""", ct);
        var report = new IngestionReport();

        var records = await Ingestion.ReadAllAsync(new BundleSource(Folder.FullName), report);

        // The Bundle is not valid as a whole, so each entry is read on its own: the one without a resource is reported
        // by its position, the others kept (the SDK's partial result, which throws when a wrong-shaped value is read, is not used).
        Assert.Equal(1, report.TotalProblems);
        Assert.Equal("bundle.json entry[1]", Assert.Single(report.Examples(ProblemKind.EntryWithoutResource)).Where);
        Assert.Single(Assert.Single(records).MeasurementsOf("hba1c"));
    }
}
