namespace HealthRec.Fhir.Tests;

/// <summary>
/// Property-based fuzzing of Bundle files (the <c>import</c> / <c>features</c> / <c>train</c> input, and the shape of a
/// prefetched searchset): slices of the Synthea bundles in <c>../shared</c> (records HealthRec did not generate),
/// mutated (types swapped, members removed, huge arrays, deep nesting, lone surrogates, Latin-1 bytes, duplicate keys,
/// truncation), each written beside an intact control file. No exception may escape the reader or the mapper, and the
/// control patient is read whole every time: a bad file costs itself, never the folder.
/// </summary>
public sealed class BundleFuzzTests() : TempFolderTests("healthrec-bundle-fuzz-")
{
    private const int Files = 2_000;
    private const int EntriesPerSeed = 25;

    // Each Synthea bundle cut into collection Bundles of 25 entries, its Patient first, so that each seed is a patient.
    private static List<JsonNode> Seeds()
    {
        var seeds = new List<JsonNode>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(TestServices.SharedFolder, "data", "synthea"), "*.json").Order(StringComparer.Ordinal).Take(6))
        {
            var entries = JsonNode.Parse(File.ReadAllBytes(file))!["entry"]!.AsArray();
            var patient = entries.First(e => (string?)e!["resource"]!["resourceType"] == "Patient")!;
            var others = entries.Where(e => (string?)e!["resource"]!["resourceType"] != "Patient").ToList();
            for (var start = 0; start + EntriesPerSeed <= others.Count && seeds.Count % 40 < 39; start += 97)
            {
                seeds.Add(new JsonObject
                {
                    ["resourceType"] = "Bundle",
                    ["type"] = "collection",
                    ["entry"] = new JsonArray([patient.DeepClone(), .. others.Skip(start).Take(EntriesPerSeed).Select(e => e!.DeepClone())]),
                });
            }
        }

        return seeds;
    }

    private const string Control = """
        {"resourceType":"Bundle","type":"collection","entry":[
          {"fullUrl":"urn:uuid:control-1","resource":{"resourceType":"Patient","id":"control-1","gender":"female","birthDate":"1960-01-01"}},
          {"resource":{"resourceType":"Observation","id":"control-o1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]},"subject":{"reference":"urn:uuid:control-1"},"effectiveDateTime":"2021-05-01","valueQuantity":{"value":6.1,"system":"http://unitsofmeasure.org","code":"%"}}}]}
        """;

    [Fact]
    public async Task GivenTwoThousandMutatedBundleFiles_WhenEachIsReadBesideAnIntactOne_ThenNothingThrowsAndTheIntactPatientIsReadWhole()
    {
        var seeds = Seeds();
        Assert.True(seeds.Count >= 20, $"only {seeds.Count} seed bundles from the Synthea folder");
        var file = 0;
        await Gen.Int.SampleAsync(async seed =>
        {
            var random = new Random(seed);
            var folder = Folder.CreateSubdirectory($"f{file++}");
            // Written with UTF-8's byte-order mark, as Windows tools write files: it must be read all the same.
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "a-control.json"), Control, new UTF8Encoding(encoderShouldEmitUTF8Identifier: true),
                TestContext.Current.CancellationToken);
            await File.WriteAllBytesAsync(Path.Combine(folder.FullName, "b-mutated.json"),
                JsonMutator.Mutate(seeds[random.Next(seeds.Count)], random.Next(1, 4), random), TestContext.Current.CancellationToken);

            var report = new IngestionReport();
            var records = await Ingestion.ReadAllAsync(new BundleSource(folder.FullName), report);

            var control = Assert.Single(records, r => r.PatientId == "control-1");
            Assert.Equal(6.1, Assert.Single(control.MeasurementsOf("hba1c")).Value, 3);
            folder.Delete(recursive: true);
        }, iter: Files, threads: 1);
    }
}

/// <summary>What the Bundle fuzzing found, each pinned by its own case.</summary>
public sealed class BundleFileEdgeTests
{
    [Fact]
    public void GivenABundleFileWithAByteOrderMark_WhenParsed_ThenItIsReadLikeOneWithout()
    {
        var json = """{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p1","gender":"male"}}]}"""u8;
        var report = new IngestionReport();

        var bundle = FhirJson.TryParseBundle([0xEF, 0xBB, 0xBF, .. json], "bom.json", report);

        Assert.Equal("p1", Assert.Single(bundle!.Entry).Resource!.Id);
        Assert.Equal(0, report.TotalProblems);
    }

    [Fact]
    public void GivenALoneSurrogateInABundlesFullUrlAndAContainedThatIsOneObject_WhenParsed_ThenTheBadEntryIsReportedAndTheOthersKept()
    {
        var json = """
            {"resourceType":"Bundle","type":"collection","entry":[
              {"fullUrl":"urn:uuid:\udc00","resource":{"resourceType":"Patient","id":"p1","gender":"male"}},
              {"resource":{"resourceType":"MedicationRequest","id":"m1","status":"active","intent":"order","subject":{"reference":"Patient/p1"},
                "contained":{"resourceType":"Medication","id":"med"},"medicationReference":{"reference":"#med"}}},
              {"resource":{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"},"code":{"text":"x"}}}]}
            """;
        var report = new IngestionReport();

        var bundle = FhirJson.TryParseBundle(Encoding.UTF8.GetBytes(json), "odd.json", report);

        Assert.Equal(["p1", "c1"], bundle!.Entry.Select(e => e.Resource!.Id));
        Assert.Null(bundle.Entry[0].FullUrl);
        Assert.Equal(1, report.ProblemsByKind[ProblemKind.InvalidResource]);
    }
}
