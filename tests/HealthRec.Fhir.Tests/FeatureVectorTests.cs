using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace HealthRec.Fhir.Tests;

public sealed class FeatureVectorTests
{
    private static float Feature(float[] vector, string name) => vector[Ingestion.Featurizer.Names.IndexOf(name)];

    [Fact]
    public async Task GivenSyntheaPatients_WhenFeaturizedAtAGivenDate_ThenKnownValuesAreRead()
    {
        var records = await Ingestion.ReadAllAsync(new BundleSource(Ingestion.SyntheaFolder), new IngestionReport());
        var andy = records.Single(r => r.PatientId == "9afe28dc-7ad5-4e90-b6a6-16123eae98c3");
        var latanya = records.Single(r => r.PatientId == "8d1f86a8-3284-43bd-b45e-5931948c97e4");

        var andyAt2020 = Ingestion.Featurizer.Featurize(andy, new DateTimeOffset(2020, 12, 31, 23, 59, 59, TimeSpan.Zero));
        var latanyaAt2019 = Ingestion.Featurizer.Featurize(latanya, new DateTimeOffset(2019, 12, 31, 23, 59, 59, TimeSpan.Zero));

        // Andy (born 1932-06-09, male): last results on 2020-02-20 — HbA1c 6.1095 %, BP 107.98/70.26 mm[Hg].
        Assert.Equal(88, Feature(andyAt2020, "age_years"));
        Assert.Equal(0, Feature(andyAt2020, "sex_female"));
        Assert.Equal(6.1095216f, Feature(andyAt2020, "hba1c_last"), 4);
        Assert.Equal(107.978973f, Feature(andyAt2020, "sbp_last"), 3);
        Assert.Equal(70.264404f, Feature(andyAt2020, "dbp_last"), 3);
        Assert.Equal(0, Feature(andyAt2020, "hba1c_last_missing"));
        // Latanya: last HbA1c on 2019-04-27 is 6.008 %, last BP that day 157.34/112.28.
        Assert.Equal(6.0080364f, Feature(latanyaAt2019, "hba1c_last"), 4);
        Assert.Equal(157.33978f, Feature(latanyaAt2019, "sbp_last"), 3);
        Assert.Equal(1, Feature(latanyaAt2019, "sex_female"));
    }

    [Fact]
    public async Task GivenOnePatient_WhenReadFromRestNdjsonBundleAndPrefetch_ThenTheFeatureVectorsAreIdentical()
    {
        var file = Directory.EnumerateFiles(Ingestion.SyntheaFolder, "Leonor_Trujillo_*.json").Single();
        var bundle = new FhirJsonDeserializer().Deserialize<Bundle>(await File.ReadAllTextAsync(file, Ct));
        var index = new DateTimeOffset(2021, 6, 30, 0, 0, 0, TimeSpan.Zero);

        var fromBundle = Single(await Ingestion.ReadAllAsync(new BundleSource(file), new IngestionReport()));

        var ndjsonFolder = Directory.CreateTempSubdirectory("healthrec-ndjson-test-");
        using var removed = ndjsonFolder.DeletedAtEnd();
        WriteNdjson(bundle, ndjsonFolder.FullName);
        var fromNdjson = Single(await Ingestion.ReadAllAsync(new NdjsonSource(ndjsonFolder.FullName), new IngestionReport()));
        // The same folder forced through spill files (a tiny spill size) must give the same record too.
        var fromSpill = Single(await Ingestion.ReadAllAsync(
            new NdjsonSource(ndjsonFolder.FullName, new NdjsonSourceOptions { SpillBytes = 64 * 1024 }), new IngestionReport()));

        var patientId = fromBundle.PatientId;
        var fromPrefetch = Ingestion.Mapper().Map(PrefetchSource.Read(Prefetch(bundle), patientId, new IngestionReport()), new IngestionReport())!;

        var serverId = await LoadIntoFhirServerAsync(bundle);
        using var http = new HttpClient();
        var fromRest = Single(await Ingestion.ReadAllAsync(
            new FhirRestSource(http, TestServices.FhirBaseUrl, new FhirRestSourceOptions { PatientIds = [serverId], PageSize = 20 }),
            new IngestionReport()));

        var expected = Ingestion.Featurizer.Featurize(fromBundle, index);
        Assert.Contains(expected, v => !float.IsNaN(v) && v != 0);
        Assert.Equal(expected, Ingestion.Featurizer.Featurize(fromNdjson, index));
        Assert.Equal(expected, Ingestion.Featurizer.Featurize(fromSpill, index));
        Assert.Equal(expected, Ingestion.Featurizer.Featurize(fromPrefetch, index));
        Assert.Equal(expected, Ingestion.Featurizer.Featurize(fromRest, index));
    }

    private static PatientRecord Single(List<PatientRecord> records) => Assert.Single(records);

    // As a Bulk Data export writes it: one file per type, references as Patient/{id}.
    private static void WriteNdjson(Bundle bundle, string folder)
    {
        var patientId = bundle.Entry.Select(e => e.Resource).OfType<Patient>().Single().Id;
        foreach (var type in bundle.Entry.GroupBy(e => e.Resource!.TypeName))
        {
            var lines = type.Select(e => FhirJson.Serialize(e.Resource!).Replace($"urn:uuid:{patientId}", $"Patient/{patientId}", StringComparison.Ordinal));
            File.WriteAllLines(Path.Combine(folder, $"{type.Key}.ndjson"), lines);
        }
    }

    // As a CDS client would send it: the patient, and searchset Bundles per prefetch key.
    private static JsonElement Prefetch(Bundle bundle)
    {
        var prefetch = new JsonObject();
        var patient = bundle.Entry.Select(e => e.Resource).OfType<Patient>().Single();
        prefetch["patient"] = JsonNode.Parse(FhirJson.Serialize(patient));
        foreach (var type in new[] { "Observation", "Condition", "MedicationRequest", "Encounter" })
        {
            var searchset = new Bundle { Type = Bundle.BundleType.Searchset };
            foreach (var resource in bundle.Entry.Select(e => e.Resource).Where(r => r!.TypeName == type))
            {
                searchset.Entry.Add(new Bundle.EntryComponent { Resource = resource });
            }

            prefetch[type] = JsonNode.Parse(FhirJson.Serialize(searchset)
                .Replace($"urn:uuid:{patient.Id}", $"Patient/{patient.Id}", StringComparison.Ordinal));
        }

        prefetch["medicationStatements"] = null;
        return JsonSerializer.Deserialize<JsonElement>(prefetch.ToJsonString());
    }

    private static async Task<string> LoadIntoFhirServerAsync(Bundle bundle)
    {
        using var client = FhirTestServerTests.CreateClient();
        var response = await client.TransactionAsync(bundle, ct: Ct);
        return response!.Entry.Select(e => e.Response!.Location!).First(l => l.StartsWith("Patient/", StringComparison.Ordinal))["Patient/".Length..].Split('/')[0];
    }
}
