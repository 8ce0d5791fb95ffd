using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Task = System.Threading.Tasks.Task;

namespace HealthRec.Server.Tests.CdsHooks;

/// <summary>
/// Generated patients, with records up to today, put on the FHIR test server: the EHR's prefetch (computed from the
/// service's own templates against that server, with the Firely client) and HealthRec's own reads give the same cards.
/// </summary>
[Collection(SequentialServers.Name)]
public sealed class EndToEndTests(CdsServer fixture) : TempFolderTests("healthrec-e2e-"), IClassFixture<CdsServer>
{
    [Fact]
    public async Task GivenGeneratedPatientsOnTheFhirServer_WhenPatientViewIsCalledWithAndWithoutPrefetch_ThenTheCardsAreTheSame()
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        await new CohortGenerator(new CohortOptions { Patients = 40, Seed = 20261202, Start = today.AddYears(-10), Years = 10, ErrorRate = 0 })
            .WriteAsync(Folder.FullName, SyntheticFormat.Ndjson, null, "test", Ct);
        var resources = Directory.GetFiles(Folder.FullName, "*.ndjson").SelectMany(File.ReadLines)
            .Select(line => FhirJson.TryParse(line, "generated", new Clinical.Ingestion.IngestionReport())!).ToList();
        var alive = resources.OfType<Patient>().Where(p => p.Deceased is null).Take(8).Select(p => p.Id).ToHashSet(StringComparer.Ordinal);
        var patients = alive.Select(id => (Id: id, Resources: resources.Where(r => r is Patient p ? p.Id == id : Fhir.Ingestion.PatientReference.SubjectKeyOf(r) == id).ToList())).ToList();
        foreach (var patient in patients)
        {
            await LoadAsync(patient.Resources);
        }

        var discovery = JsonNode.Parse(await fixture.Server.Client.GetStringAsync(new Uri("/cds-services", UriKind.Relative), Ct))!;
        var templates = discovery["services"]!.AsArray().Single(s => (string)s!["id"]! == "healthrec-patient-risk")!["prefetch"]!.AsObject();
        using var auditTime = new Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<double>(
            fixture.Server.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), Audit.AuditTrail.MeterName, "healthrec.audit.duration");
        using var ehr = new FhirClient(TestServices.FhirBaseUrl, new FhirClientSettings { PreferredFormat = ResourceFormat.Json, VerifyFhirVersion = false, Timeout = 30_000 });
        var answered = 0;
        foreach (var (id, _) in patients)
        {
            var prefetch = new JsonObject();
            foreach (var (key, template) in templates)
            {
                prefetch[key] = await EhrPrefetchAsync(ehr, ((string)template!).Replace("{{context.patientId}}", id, StringComparison.Ordinal));
            }

            var call = new JsonObject { ["hook"] = "patient-view", ["context"] = new JsonObject { ["userId"] = "Practitioner/example", ["patientId"] = id } };
            var withPrefetch = call.DeepClone().AsObject();
            withPrefetch["hookInstance"] = Guid.NewGuid().ToString();
            withPrefetch["prefetch"] = prefetch;
            var withoutPrefetch = call.DeepClone().AsObject();
            withoutPrefetch["hookInstance"] = Guid.NewGuid().ToString();
            withoutPrefetch["fhirServer"] = TestServices.FhirBaseUrl.AbsoluteUri.TrimEnd('/');

            var given = await Cds.PatientViewAsync(fixture.Server.Client, withPrefetch, Ct);
            var fetched = await Cds.PatientViewAsync(fixture.Server.Client, withoutPrefetch, Ct);

            Assert.True(given.Status == 200, given.Text);
            Assert.True(fetched.Status == 200, fetched.Text);
            CardRules.AssertValidResponse(given.Body);
            Assert.Equal(Cds.Seen(given.Body), Cds.Seen(fetched.Body));
            answered += Cds.Cards(given.Body).Count > 0 ? 1 : 0;
            await AssertAuditedAsync((string)withPrefetch["hookInstance"]!, id, given.Text, queries: 0);
            await AssertAuditedAsync((string)withoutPrefetch["hookInstance"]!, id, fetched.Text, queries: templates.Count);
        }

        Assert.True(answered >= 2, $"only {answered} of {patients.Count} generated patients got a card: the comparison would say little");
        // Each answered call's audit cost is measured (the figure operators watch, and the load benchmark reads).
        var measured = auditTime.GetMeasurementSnapshot().Where(m => m.Tags.TryGetValue("operation", out var op) && (string?)op == "cds-call").ToList();
        Assert.Equal(2 * patients.Count, measured.Count);
        Assert.All(measured, m => Assert.InRange(m.Value, 0.001, 10_000));
        ProfileValidation.AssertAuditRecordsValid(await (await fixture.Server.AuditAsync(Ct)).ReadAsync(Ct).ToListAsync(Ct));
    }

    // The audit trail holds, for one call: exactly one GuidanceResponse (requestIdentifier = hookInstance) with every card
    // exactly as returned; exactly one cds-call AuditEvent naming it, the patient, the user and each card uuid; and one
    // fhir-query AuditEvent per query HealthRec made for the call, holding the query and never the results.
    private async Task AssertAuditedAsync(string hookInstance, string? patientId, string text, int queries)
    {
        var body = JsonNode.Parse(text);
        var store = (await fixture.Server.AuditAsync(Ct));
        var (guidance, _) = await store.SearchAsync(new Data.AuditQuery("GuidanceResponse")
        {
            Filters = [new("request", [$"urn:uuid:{hookInstance}"])],
        }, 10, Ct);
        var response = Assert.IsType<GuidanceResponse>(Audited(Assert.Single(guidance).ResourceJson));
        Assert.Equal($"Patient/{patientId}", response.Subject?.Reference);
        var returned = Cds.Cards(body).Select(c => JsonNode.Parse(c!.ToJsonString())!).ToList();
        var recorded = response.Contained.OfType<Parameters>().SelectMany(p => p.Parameter).ToList();
        Assert.Equal(returned.Count, recorded.Count);
        foreach (var card in returned)
        {
            var stored = recorded.Single(p => p.Name == (string)card["uuid"]!);
            // The very text the EHR received, not an equivalent.
            Assert.Contains(((FhirString)stored.Value!).Value!, text, StringComparison.Ordinal);
            Assert.True(JsonNode.DeepEquals(card, JsonNode.Parse(((FhirString)stored.Value!).Value!)), $"card {card["uuid"]} is not recorded as returned");
        }

        var (calls, _) = await store.SearchAsync(new Data.AuditQuery("AuditEvent")
        {
            Filters = [new("entity", [$"GuidanceResponse/{response.Id}"]), new("subtype", ["cds-call"])],
        }, 10, Ct);
        var call = Assert.IsType<AuditEvent>(Audited(Assert.Single(calls).ResourceJson));
        Assert.Equal(AuditEvent.AuditEventOutcome.N0, call.Outcome);
        Assert.Contains(call.Agent, a => a.Who?.Reference == "Practitioner/example" && a.Requestor == true);
        Assert.Contains(call.Entity, e => e.What?.Reference == $"Patient/{patientId}" && e.Role?.Code == "1");
        var cardEntities = call.Entity.Where(e => e.What?.Identifier?.System == "https://healthrec.example.org/fhir/sid/cds-card").Select(e => e.What!.Identifier!.Value);
        Assert.Equal(returned.Select(c => (string)c["uuid"]!).Order(StringComparer.Ordinal), cardEntities.Order(StringComparer.Ordinal));
        var requestId = call.Entity.Single(e => e.Type?.Code == "XrequestId").What!.Identifier!.Value!;

        var (made, _) = await store.SearchAsync(new Data.AuditQuery("AuditEvent")
        {
            Filters = [new("request", [requestId]), new("subtype", ["fhir-query"])],
        }, 100, Ct);
        Assert.Equal(queries, made.Count);
        foreach (var query in made)
        {
            var audit = (AuditEvent)Audited(query.ResourceJson);
            var entity = audit.Entity.Single(e => e.Role?.Code == "24");
            Assert.StartsWith(TestServices.FhirBaseUrl.AbsoluteUri.TrimEnd('/'), System.Text.Encoding.UTF8.GetString(entity.Query!), StringComparison.Ordinal);
            Assert.DoesNotContain("\"entry\"", query.ResourceJson, StringComparison.Ordinal);
        }
    }

    private static Resource Audited(string json) => System.Text.Json.JsonSerializer.Deserialize<Resource>(json, FhirJson.Options)!;

    // What an EHR sends for one template: the resource of a read (null when absent), or every page of a search as one searchset (null when empty).
    private static async Task<JsonNode?> EhrPrefetchAsync(FhirClient ehr, string query)
    {
        if (!query.Contains('?', StringComparison.Ordinal))
        {
            try
            {
                return PatientFixture.Json((await ehr.GetAsync(query, Ct))!);
            }
            catch (FhirOperationException ex) when (ex.Status == System.Net.HttpStatusCode.NotFound)
            {
                return null;
            }
        }

        var all = new Bundle { Type = Bundle.BundleType.Searchset };
        var page = (Bundle?)await ehr.GetAsync(query, Ct);
        while (page is not null)
        {
            all.Entry.AddRange(page.Entry.Where(e => e.Resource is not null));
            page = await ehr.ContinueAsync(page, ct: Ct);
        }

        all.Total = all.Entry.Count;
        return all.Entry.Count == 0 ? null : PatientFixture.Json(all);
    }

    private static async Task LoadAsync(IReadOnlyList<Resource> resources)
    {
        var patient = new PatientFixture("male", 50);
        patient.Resources.Clear();
        patient.Resources.AddRange(resources);
        await patient.LoadAsync(Ct);
    }
}
