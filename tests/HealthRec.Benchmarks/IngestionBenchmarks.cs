using Hl7.Fhir.Model;
using HealthRec.Clinical.Features;

namespace HealthRec.Benchmarks;

/// <summary>
/// The hook's per-patient path: a CDS prefetch of about 300 resources parsed and mapped to a record, and one
/// record featurized. Input: the shared Synthea patient with the most resources, trimmed to 300.
/// </summary>
[MemoryDiagnoser]
public class IngestionBenchmarks
{
    private JsonElement _prefetch;
    private string _patientId = "";
    private FhirRecordMapper _mapper = null!;
    private Featurizer _featurizer = null!;
    private PatientRecord _record = null!;
    private DateTimeOffset _index;
    private float[] _buffer = [];
    private byte[][] _values = [];

    public int Resources { get; private set; }

    [GlobalSetup]
    public void Setup()
    {
        var repo = Repository.Root;
        var terminology = TerminologyFiles.Load(Path.Combine(repo, TerminologyFiles.DefaultFolder));
        _featurizer = TerminologyFiles.LoadFeaturizer(Path.Combine(repo, TerminologyFiles.DefaultSchema), terminology);
        _mapper = new FhirRecordMapper(terminology, new UnitNormalizer());
        var file = Directory.EnumerateFiles(Path.Combine(repo, "..", "shared", "data", "synthea"), "*.json").OrderByDescending(f => new FileInfo(f).Length).First();
        var bundle = JsonSerializer.Deserialize<Bundle>(File.ReadAllText(file), FhirJson.Options)!;
        var patient = bundle.Entry.Select(e => e.Resource).OfType<Patient>().Single();
        _patientId = patient.Id!;
        var prefetch = new JsonObject { ["patient"] = JsonNode.Parse(FhirJson.Serialize(patient)) };
        var taken = 1;
        foreach (var type in new[] { "Condition", "MedicationRequest", "Observation", "Encounter" })
        {
            var searchset = new Bundle { Type = Bundle.BundleType.Searchset };
            foreach (var resource in bundle.Entry.Select(e => e.Resource!).Where(r => r.TypeName == type).Take(300 - taken))
            {
                searchset.Entry.Add(new Bundle.EntryComponent { Resource = resource });
                taken++;
            }

            prefetch[type] = JsonNode.Parse(FhirJson.Serialize(searchset).Replace($"urn:uuid:{_patientId}", $"Patient/{_patientId}", StringComparison.Ordinal));
        }

        Resources = taken;
        Console.WriteLine($"// prefetch holds {Resources} resources");
        _prefetch = JsonSerializer.Deserialize<JsonElement>(prefetch.ToJsonString());
        _values = [.. prefetch.Select(key => System.Text.Encoding.UTF8.GetBytes(key.Value!.ToJsonString()))];
        _record = ParseAndMapPrefetch();
        _index = _record.LastActivity!.Value;
        _buffer = new float[_featurizer.Width];
    }

    /// <summary>The default path: the fast reader, falling back to the SDK's validating parser.</summary>
    [Benchmark(Baseline = true)]
    public PatientRecord ParseAndMapPrefetch()
    {
        var report = new IngestionReport();
        return _mapper.Map(PrefetchSource.Read(_prefetch, _patientId, report, FhirParsing.Fast), report)!;
    }

    /// <summary>The fast reader alone: the prefetch's five values (a Patient, four searchset Bundles) into SDK objects.</summary>
    [Benchmark]
    public int FastReadPrefetch()
    {
        var read = 0;
        foreach (var value in _values)
        {
            read += FastResourceReader.TryRead(value, out var resource) && resource is not null ? 1 : throw new InvalidOperationException("the fast reader gave up on a prefetch value");
        }

        return read;
    }

    /// <summary>Every resource through the SDK's validating parser.</summary>
    [Benchmark]
    public PatientRecord ParseAndMapPrefetchStrict()
    {
        var report = new IngestionReport();
        return _mapper.Map(PrefetchSource.Read(_prefetch, _patientId, report, FhirParsing.Strict), report)!;
    }

    [Benchmark]
    public float FeaturizeOneRecord()
    {
        _featurizer.Featurize(_record, _index, _buffer);
        return _buffer[0];
    }
}
