using Hl7.Fhir.Model;
using HealthRec.Clinical.Safety;

namespace HealthRec.Benchmarks;

/// <summary>
/// One order-sign call with five draft orders (metformin, lisinopril, atorvastatin, ibuprofen, amlodipine) without its
/// HTTP, on the demo cohort's fullest record as a CDS prefetch (with an allergy list): body read and checked, prefetch
/// parsed, record mapped, drafts read, every draft checked against the medication-safety knowledge base with the others
/// counted as taken, cards with their alternatives, response serialized. <see cref="SafetyChecks"/> is the medication-safety
/// part alone — the five drafts checked on the mapped record — which is what the knowledge base adds to the call.
/// <see cref="Drafts"/> 250 repeats the five medicines fifty times (issue 28's bound: 250 drafts ≤ 50 ms in-process;
/// a call is refused above <c>CdsHooks:MaxDraftOrders</c>, 200 by default, so this is past what is served).
/// </summary>
[MemoryDiagnoser]
public class OrderCheckBenchmarks : CdsCallBenchmark
{
    [Params(5, 250)]
    public int Drafts { get; set; } = 5;

    private byte[] _body = [];
    private OrderCheckCards _cards = null!;
    private MedicationSafety _safety = null!;
    private PatientRecord _record = null!;
    private DraftOrders _drafts = null!;

    [GlobalSetup]
    public void Setup()
    {
        StartServer();
        _cards = Services.GetRequiredService<OrderCheckCards>();
        _safety = Services.GetRequiredService<MedicationSafety>();

        var service = Catalog.Find("healthrec-order-sign").Single();
        AllergyIntolerance Allergy(string patientKey) => new()
        {
            Id = "allergy-1",
            Patient = new ResourceReference($"Patient/{patientKey}"),
            ClinicalStatus = new CodeableConcept("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active"),
            Category = [AllergyIntolerance.AllergyIntoleranceCategory.Medication],
            Code = new CodeableConcept("http://snomed.info/sct", "91936005", "Allergy to penicillin"),
        };
        var (patient, prefetch, resources) = DemoPrefetch.Fullest(service.Prefetch!, (type, key) => type == "AllergyIntolerance" ? [Allergy(key)] : null);

        (string Code, string Display)[] medicines =
        [
            ("860975", "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet"), ("314076", "lisinopril 10 MG Oral Tablet"),
            ("617312", "atorvastatin 40 MG Oral Tablet"), ("310965", "Ibuprofen 200 MG Oral Tablet"), ("197361", "amlodipine 5 MG Oral Tablet"),
        ];
        var drafts = new Bundle
        {
            Type = Bundle.BundleType.Collection,
            Entry = [.. Enumerable.Range(0, Drafts).Select(i => medicines[i % medicines.Length]).Select((m, i) => new Bundle.EntryComponent
            {
                Resource = new MedicationRequest
                {
                    Id = $"draft-{i}",
                    Status = MedicationRequest.MedicationrequestStatus.Draft,
                    Intent = MedicationRequest.MedicationRequestIntent.Order,
                    Medication = new CodeableConcept("http://www.nlm.nih.gov/research/umls/rxnorm", m.Code, m.Display) { Text = m.Display },
                    Subject = new ResourceReference($"Patient/{patient.PatientKey}"),
                },
            })],
        };
        var call = new JsonObject
        {
            ["hook"] = "order-sign",
            ["hookInstance"] = Guid.NewGuid().ToString(),
            ["context"] = new JsonObject
            {
                ["userId"] = "Practitioner/example",
                ["patientId"] = patient.PatientKey,
                ["draftOrders"] = JsonNode.Parse(FhirJson.Serialize(drafts)),
            },
            ["prefetch"] = prefetch,
        };
        _body = JsonSerializer.SerializeToUtf8Bytes(call);
        var answered = Answer();
        Console.WriteLine($"// order-sign body: {resources} resources and {Drafts} drafts, {_body.Length:N0} bytes; {answered} bytes answered");
        using var document = Read(_body, "healthrec-order-sign");
        var (request, data, record) = ReadAndMap(document, "healthrec-order-sign");
        _record = record;
        _drafts = _cards.ReadDrafts(request.DraftOrders!.Value, DateTimeOffset.UtcNow, data.Report);
    }

    [Benchmark]
    public int Answer()
    {
        using var body = Read(_body, "healthrec-order-sign");
        var (request, data, record) = ReadAndMap(body, "healthrec-order-sign");
        var at = DateTimeOffset.UtcNow;
        var context = new CardContext(new Uri("http://127.0.0.1:5000/"), "healthrec-order-sign", request.HookInstance, request.PatientId);
        using var lease = Models.Lease();
        var answer = _cards.Build(lease.Models, record, at, _cards.ReadDrafts(request.DraftOrders!.Value, at, data.Report), null, context);
        return CdsResponse.Body(CdsResponse.SerializeCards(answer.Cards, Json)).Length;
    }

    /// <summary>The five drafts checked against the record, the others counted as taken: the knowledge base's share of the call.</summary>
    [Benchmark]
    public int SafetyChecks()
    {
        var at = DateTimeOffset.UtcNow;
        var findings = 0;
        var session = _safety.Taken(_record, at, _drafts.Orders.Where(d => d.AsTaken is not null).Select(d => d.AsTaken!));
        foreach (var draft in _drafts.Orders)
        {
            findings += _safety.Check(draft.Medicine, _record, at, session.Without(draft.AsTaken)).Count;
        }

        return findings;
    }
}
