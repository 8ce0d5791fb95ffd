using Hl7.Fhir.Model;

namespace HealthRec.Benchmarks;

/// <summary>
/// One patient-view call without its HTTP: the body (the demo cohort's fullest record as a CDS prefetch, about 300
/// resources) read as JSON and checked, the prefetch parsed, the record mapped, four estimates with their factors,
/// the hybrid recommender, the cards with their FHIR proposals, and the response serialized. Services come from the
/// server's own composition (Program.BuildServer), so this is the code the endpoint runs.
/// </summary>
[MemoryDiagnoser]
public class CdsHookBenchmarks : CdsCallBenchmark
{
    private byte[] _body = [];
    private PatientRiskCards _cards = null!;

    public int Resources { get; private set; }

    [GlobalSetup]
    public void Setup()
    {
        StartServer();
        _cards = Services.GetRequiredService<PatientRiskCards>();

        var (patient, prefetch, resources) = DemoPrefetch.Fullest(Catalog.Find("healthrec-patient-risk")[0].Prefetch!);
        Resources = resources;
        var call = new JsonObject
        {
            ["hook"] = "patient-view",
            ["hookInstance"] = Guid.NewGuid().ToString(),
            ["context"] = new JsonObject { ["userId"] = "Practitioner/example", ["patientId"] = patient.PatientKey },
            ["prefetch"] = prefetch,
        };
        _body = JsonSerializer.SerializeToUtf8Bytes(call);
        Console.WriteLine($"// patient-view body: {Resources} resources, {_body.Length:N0} bytes; {Answer()} bytes answered, {_answer!.Cards.Count} cards");
        if (_answer.Cards.Count == 0)
        {
            throw new InvalidOperationException("The benchmark's patient got no cards: it would time an empty answer.");
        }

        Services.GetRequiredService<HealthRec.Data.SchemaMigrator>().MigrateAsync(default).GetAwaiter().GetResult();
        _entries = AuditEntries();
        _batch = [.. Enumerable.Range(0, 4).SelectMany(_ => AuditEntries())];
        Console.WriteLine($"// audit records of one call: {_entries.Count}, {_entries.Sum(e => e.ResourceJson.Length):N0} characters, {_entries.Sum(e => e.Search.Count)} search values");
    }

    [Benchmark]
    public int Answer()
    {
        using var body = Read(_body, "healthrec-patient-risk");
        var (request, _, record) = ReadAndMap(body, "healthrec-patient-risk");
        var context = new CardContext(new Uri("http://127.0.0.1:5000/"), "healthrec-patient-risk", request.HookInstance, request.PatientId);
        using var lease = Models.Lease();
        var answer = _cards.Build(lease.Models, record, DateTimeOffset.UtcNow, context);
        _answer = answer;
        return CdsResponse.Body(CdsResponse.SerializeCards(answer.Cards, Json)).Length;
    }

    /// <summary>The audit records of one answered call: the call's AuditEvent and its GuidanceResponse with the cards, built and serialized with their search values.</summary>
    [Benchmark]
    public int AuditRecords() => AuditEntries().Sum(e => e.ResourceJson.Length);

    /// <summary>What the call itself waits for: its records built, serialized and written to the node's audit journal.</summary>
    [Benchmark]
    public void AuditJournal() => Services.GetRequiredService<HealthRec.Data.AuditWriter>().WriteAsync(AuditEntries()).GetAwaiter().GetResult();

    /// <summary>
    /// The drainer's work per call, off the call's path: 4 calls' records (what a 20 ms group window gathers at the load
    /// benchmark's ~220 calls/s) appended to the chain in one transaction (SQLite).
    /// </summary>
    [Benchmark(OperationsPerInvoke = 4)]
    public int AuditAppend() => Services.GetRequiredService<HealthRec.Data.AuditStore>().AppendAsync(_batch, default).GetAwaiter().GetResult().Count;

    private List<HealthRec.Data.AuditEntry> _batch = [];

    private List<HealthRec.Data.AuditEntry> _entries = [];

    private List<HealthRec.Data.AuditEntry> AuditEntries()
    {
        using var lease = Models.Lease();
        var at = DateTimeOffset.UtcNow;
        var answer = _answer!;
        var call = new HealthRec.Server.Audit.CdsAudit.Call("healthrec-patient-risk", "patient-view", "6f0c3c3e-2b7c-4f57-9a43-0f7a3c1de001", "p1", "https://ehr.example.org",
            null, "jti-1", "Practitioner/example", "0HN:00000001", at);
        var guidance = HealthRec.Server.Audit.AuditEvents.Guidance(call.ServiceId, call.HookInstance!, call.PatientId, at, lease.Models.Modules,
            GuidanceResponse.GuidanceResponseStatus.Success,
            [.. answer.Cards.Zip(CdsResponse.SerializeCards(answer.Cards, Json), (c, bytes) => (c.Uuid, System.Text.Encoding.UTF8.GetString(bytes)))], []);
        return [HealthRec.Server.Audit.AuditEvents.ToEntry(HealthRec.Server.Audit.CdsAudit.CallEvent(call, HealthRec.Server.Audit.AuditOutcome.Success,
            [.. answer.Records.Select(r => (r.CardUuid, r.Kind, r.Subject))], lease.Models.Versions, guidance.Id)), HealthRec.Server.Audit.AuditEvents.ToEntry(guidance)];
    }

    private HookAnswer? _answer;

    public void Stages(int n)
    {
        var t = new double[7];
        var bytes = new long[7];
        for (var i = 0; i < n; i++)
        {
            var a0 = GC.GetAllocatedBytesForCurrentThread();
            var s0 = System.Diagnostics.Stopwatch.GetTimestamp();
            using var body = Read(_body, "healthrec-patient-risk");
            var services = Catalog.Find("healthrec-patient-risk");
            var request = CdsRequestReader.Read(body, services, [])!;
            var s1 = System.Diagnostics.Stopwatch.GetTimestamp();
            var a1 = GC.GetAllocatedBytesForCurrentThread();
            var data = Resolver.ResolveAsync(request, services[0], TimeSpan.FromSeconds(1), default).GetAwaiter().GetResult();
            var s2 = System.Diagnostics.Stopwatch.GetTimestamp();
            var a2 = GC.GetAllocatedBytesForCurrentThread();
            var record = Mapper.Map(data.Resources!, data.Report)!;
            var s3 = System.Diagnostics.Stopwatch.GetTimestamp();
            var a3 = GC.GetAllocatedBytesForCurrentThread();
            using var lease = Models.Lease();
            var models = lease.Models;
            var at = DateTimeOffset.UtcNow;
            var features = models.Featurizer.Featurize(record, at);
            var predictions = models.Predictors.Values.Select(p => p.Predict(record, at, features)).OfType<HealthRec.ML.Serving.RiskPrediction>().ToList();
            var s4 = System.Diagnostics.Stopwatch.GetTimestamp();
            var a4 = GC.GetAllocatedBytesForCurrentThread();
            var snapshot = HealthRec.ML.Recommendation.PatientSnapshot.From(record, at, features, models.Featurizer, predictions);
            var recs = models.Recommender.Recommend(snapshot, 3);
            var s5 = System.Diagnostics.Stopwatch.GetTimestamp();
            var a5 = GC.GetAllocatedBytesForCurrentThread();
            var context = new CardContext(new Uri("http://127.0.0.1:5000/"), "healthrec-patient-risk", request.HookInstance, request.PatientId);
            var answer = _cards.Build(models, record, at, context);
            var s6 = System.Diagnostics.Stopwatch.GetTimestamp();
            var a6 = GC.GetAllocatedBytesForCurrentThread();
            _ = CdsResponse.Body(CdsResponse.SerializeCards(answer.Cards, Json));
            var s7 = System.Diagnostics.Stopwatch.GetTimestamp();
            var a7 = GC.GetAllocatedBytesForCurrentThread();
            long[] ts = [s0, s1, s2, s3, s4, s5, s6, s7];
            long[] al = [a0, a1, a2, a3, a4, a5, a6, a7];
            for (var k = 0; k < 7; k++)
            {
                t[k] += System.Diagnostics.Stopwatch.GetElapsedTime(ts[k], ts[k + 1]).TotalMilliseconds;
                bytes[k] += al[k + 1] - al[k];
            }
        }

        Console.WriteLine($"KB read+validate {bytes[0] / n / 1024} resolve {bytes[1] / n / 1024} map {bytes[2] / n / 1024} predict {bytes[3] / n / 1024} recommend {bytes[4] / n / 1024} cards {bytes[5] / n / 1024} serialize {bytes[6] / n / 1024}");
        Console.WriteLine($"read+validate {t[0] / n:0.000} resolve {t[1] / n:0.000} map {t[2] / n:0.000} predict {t[3] / n:0.000} recommend {t[4] / n:0.000} cards(all again) {t[5] / n:0.000} serialize {t[6] / n:0.000} ms");
    }
}

/// <summary>A folder of NDJSON read into per-patient groups of parsed resources.</summary>
internal static class RecordReaderInput
{
    public static List<PatientResources> Groups(string folder) =>
        [.. new NdjsonSource(folder).ReadAsync(new IngestionReport(), default).ToBlockingEnumerable()];
}

/// <summary>The demo cohort's fullest record as the prefetch an EHR computes from a service's templates.</summary>
internal static class DemoPrefetch
{
    /// <summary>
    /// The living patient with the most resources the templates ask for, and each key's data (searchsets as Bundles, Observations
    /// only of the template's codes); <paramref name="extra"/> gives a type's resources where the cohort has none.
    /// </summary>
    public static (PatientResources Patient, JsonObject Prefetch, int Resources) Fullest(IReadOnlyDictionary<string, string> templates,
        Func<string, string, IReadOnlyList<Resource>?>? extra = null)
    {
        var codes = templates["observations"].Split("code=")[1].Split(',').Select(c => c.Split('|')[1]).ToHashSet(StringComparer.Ordinal);
        bool Asked(Resource r) => r is not Observation o || o.Code.Coding.Any(c => c.Code is { } code && codes.Contains(code));
        var groups = RecordReaderInput.Groups(Path.Combine(Repository.Root, "data", "sample"));
        // A living patient: a deceased one is answered with no cards, and the benchmark would time nothing.
        static bool Living(PatientResources g) => g.Resources.OfType<Patient>().All(p => p.Deceased is null or FhirBoolean { Value: false });
        var patient = groups.Where(Living).OrderByDescending(g => g.Resources.Count(Asked)).First();
        var resources = 0;
        var prefetch = new JsonObject();
        foreach (var (key, template) in templates)
        {
            var type = template.Split('?')[0].Split('/')[0];
            var found = extra?.Invoke(type, patient.PatientKey) ?? [.. patient.Resources.Where(r => r.TypeName == type && Asked(r))];
            resources += found.Count;
            prefetch[key] = type == "Patient" ? JsonNode.Parse(FhirJson.Serialize(found.Single()))
                : found.Count == 0 ? null
                : JsonNode.Parse(FhirJson.Serialize(new Bundle { Type = Bundle.BundleType.Searchset, Entry = [.. found.Select(r => new Bundle.EntryComponent { Resource = r })] }));
        }

        return (patient, prefetch, resources);
    }
}

internal static class StageTimer
{
    public static void Run()
    {
        var b = new CdsHookBenchmarks();
        b.Setup();
        b.Stages(300);
        Console.WriteLine($"ready {Environment.ProcessId}");
        b.Stages(int.TryParse(Environment.GetEnvironmentVariable("STAGES"), out var n) ? n : 300);
    }
}
