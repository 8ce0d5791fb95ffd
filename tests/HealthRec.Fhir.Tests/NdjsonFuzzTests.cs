namespace HealthRec.Fhir.Tests;

/// <summary>
/// Property-based fuzzing of Bulk Data NDJSON: lines of the demo cohort, mutated (types swapped, members removed, huge
/// arrays, deep nesting, lone surrogates, Latin-1 bytes, duplicate keys, truncation), read beside an intact patient.
/// No exception may escape the reader or the mapper, and the intact patient must be read whole: a bad line costs
/// itself, never its neighbours.
/// </summary>
public sealed class NdjsonFuzzTests() : TempFolderTests("healthrec-ndjson-fuzz-")
{
    private const int Batches = 100;
    private const int LinesPerBatch = 100;

    private static List<JsonNode> Seeds()
    {
        var seeds = new List<JsonNode>();
        foreach (var type in new[] { "Patient", "Observation", "Condition", "MedicationRequest", "Encounter", "Procedure" })
        {
            using var reader = new StreamReader(new GZipStream(File.OpenRead(Path.Combine(TestServices.RepositoryRoot, "data", "sample", $"{type}.ndjson.gz")), CompressionMode.Decompress));
            for (var i = 0; i < 40 && reader.ReadLine() is { } line; i++)
            {
                seeds.Add(JsonNode.Parse(line)!);
            }
        }

        return seeds;
    }

    private const string Control = """{"resourceType":"Patient","id":"control-1","gender":"female","birthDate":"1960-01-01"}""";
    private const string ControlHbA1c = """{"resourceType":"Observation","id":"control-o1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]},"subject":{"reference":"Patient/control-1"},"effectiveDateTime":"2021-05-01","valueQuantity":{"value":6.1,"system":"http://unitsofmeasure.org","code":"%"}}""";

    [Fact]
    public async Task GivenTenThousandMutatedLines_WhenRead_ThenNothingThrowsAndTheIntactPatientIsReadWhole()
    {
        var seeds = Seeds();
        var batch = 0;
        await Gen.Int.SampleAsync(async seed =>
        {
            var random = new Random(seed);
            var folder = Folder.CreateSubdirectory($"b{batch++}");
            var lines = new List<byte[]> { Encoding.UTF8.GetBytes(Control) };
            for (var i = 0; i < LinesPerBatch; i++)
            {
                lines.Add(JsonMutator.Mutate(seeds[random.Next(seeds.Count)], random.Next(1, 4), random));
            }

            lines.Add(Encoding.UTF8.GetBytes(ControlHbA1c));
            await using (var file = File.Create(Path.Combine(folder.FullName, "mixed.ndjson")))
            {
                foreach (var line in lines)
                {
                    // A line holding a raw newline would be two lines: NDJSON forbids it, so it is written escaped-out.
                    await file.WriteAsync(line.Select(b => b is (byte)'\n' or (byte)'\r' ? (byte)' ' : b).ToArray(), TestContext.Current.CancellationToken);
                    file.WriteByte((byte)'\n');
                }
            }

            var report = new IngestionReport();
            var records = await Ingestion.ReadAllAsync(new NdjsonSource(folder.FullName), report);

            var control = Assert.Single(records, r => r.PatientId == "control-1");
            Assert.Equal(6.1, Assert.Single(control.MeasurementsOf("hba1c")).Value, 3);
            folder.Delete(recursive: true);
        }, iter: Batches, threads: 1);
    }
}
