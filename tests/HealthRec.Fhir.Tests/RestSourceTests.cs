using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace HealthRec.Fhir.Tests;

public sealed class RestSourceTests
{
    [Fact]
    public async Task GivenBearerToken_WhenAPatientIsReadOverRest_ThenEveryRequestCarriesItAndEveryPageIsRead()
    {
        var patient = await PatientWithBloodPressuresAsync(25);
        using var http = new HttpClient();
        var report = new IngestionReport();

        var records = await Ingestion.ReadAllAsync(new FhirRestSource(http, TestServices.FhirBaseUrl, new FhirRestSourceOptions
        {
            PatientIds = [patient.Id!],
            PageSize = 10,
            BearerToken = "healthrec-test-token",
            Deadline = TimeSpan.FromSeconds(30),
        }), report);

        Assert.Equal(25, Assert.Single(records).MeasurementsOf("sbp").Length);
        var log = JsonNode.Parse(await http.GetStringAsync(new Uri(TestServices.FhirBaseUrl, "/__admin/requests"), Ct))!.AsArray();
        var mine = log.Where(r => ((string)r!["url"]!).Contains(patient.Id!, StringComparison.Ordinal)).ToList();
        // One read, eight searches (one per type read, AllergyIntolerance among them), and two more Observation pages (25 results, 10 per page).
        Assert.Equal(11, mine.Count);
        Assert.All(mine, r => Assert.Equal("Bearer healthrec-test-token", (string?)r!["authorization"]));
    }

    [Fact]
    public async Task GivenANextPageOnAnotherServer_WhenAPatientIsRead_ThenItIsNotFollowedAndTheListIsUnavailable()
    {
        var patient = await PatientWithBloodPressuresAsync(5);
        var id = patient.Id!;
        // The FHIR server writes this search's links on "localhost": the same server, but not the address HealthRec was
        // given, so the bearer token must not follow them there.
        var elsewhere = $"localhost:{TestServices.FhirBaseUrl.Port}";
        using var http = new HttpClient();
        var linkHost = new Uri(TestServices.FhirBaseUrl, $"/__admin/link-host?match={Uri.EscapeDataString($"/Observation?_count=2&patient={id}")}&host={elsewhere}");
        (await http.PostAsync(linkHost, null, Ct)).EnsureSuccessStatusCode();
        var problems = new System.Collections.Concurrent.ConcurrentQueue<IngestionProblem>();
        var report = new IngestionReport(problems.Enqueue);

        var resources = await new FhirRestSource(http, TestServices.FhirBaseUrl, new FhirRestSourceOptions
        {
            PatientIds = [id],
            PageSize = 2,
            BearerToken = "healthrec-test-token",
            Deadline = TimeSpan.FromSeconds(30),
        }).ReadAsync(report, Ct).SingleAsync(Ct);

        Assert.Equal($"the Observation search: the FHIR server's next page is on another server (http://{elsewhere}), which is not followed",
            resources.Unavailable["Observation"]);
        Assert.Contains(problems, p => p.Kind == ProblemKind.SourceUnavailable && p.Message.Contains("not followed", StringComparison.Ordinal));
        var log = JsonNode.Parse(await http.GetStringAsync(new Uri(TestServices.FhirBaseUrl, "/__admin/requests"), Ct))!.AsArray();
        var observationPages = log.Select(r => (string)r!["url"]!).Where(u => u.StartsWith("/fhir/R4/Observation?", StringComparison.Ordinal) && u.Contains(id, StringComparison.Ordinal)).ToList();
        Assert.Single(observationPages);
    }

    // A patient on the FHIR test server with one systolic pressure a day from 2020-01-01.
    private static async Task<Patient> PatientWithBloodPressuresAsync(int count)
    {
        using var client = FhirTestServerTests.CreateClient();
        var patient = (await client.CreateAsync(new Patient { BirthDate = "1970-01-01", Gender = AdministrativeGender.Male }, ct: Ct))!;
        var transaction = new Bundle { Type = Bundle.BundleType.Transaction };
        for (var i = 0; i < count; i++)
        {
            transaction.Entry.Add(new Bundle.EntryComponent
            {
                Resource = new Observation
                {
                    Status = ObservationStatus.Final,
                    Code = new CodeableConcept("http://loinc.org", "8480-6"),
                    Subject = new ResourceReference($"Patient/{patient.Id}"),
                    Effective = new FhirDateTime(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero).AddDays(i)),
                    Value = new Quantity(120 + i, "mm[Hg]", "http://unitsofmeasure.org"),
                },
                Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Observation" },
            });
        }

        await client.TransactionAsync(transaction, ct: Ct);
        return patient;
    }
}
