namespace HealthRec.Server.Tests.CdsHooks;

/// <summary>
/// Prefetch as the specification describes it, against the real FHIR test server: keys given are used, absent keys
/// (and keys holding an OperationOutcome) are read from fhirServer with the call's bearer token, null is "no data",
/// and when the data can be had neither way the answer is 412 — also when the FHIR server is down or too slow.
/// </summary>
[Collection(SequentialServers.Name)]
public sealed class PrefetchTests(CdsServer fixture) : IClassFixture<CdsServer>
{
    private HttpClient Client => fixture.Server.Client;

    private static async Task<List<(string Url, string? Authorization)>> RequestsForAsync(string patientId)
    {
        using var http = new HttpClient();
        var log = JsonNode.Parse(await http.GetStringAsync(new Uri(TestServices.FhirBaseUrl, "/__admin/requests"), Ct))!.AsArray();
        return [.. log.Select(e => ((string)e!["url"]!, (string?)e["authorization"])).Where(e => e.Item1.Contains(patientId, StringComparison.Ordinal))];
    }

    [Fact]
    public async Task GivenEveryKeyPrefetched_WhenCalledWithAFhirServer_ThenNothingIsReadFromIt()
    {
        var patient = PatientFixture.HighRisk();
        await patient.LoadAsync(Ct);

        var body = await Cds.AnsweredAsync(Client, patient.Call(prefetch: patient.Prefetch(), fhirServer: TestServices.FhirBaseUrl, accessToken: "tok-all"), Ct);

        Assert.NotEmpty(Cds.Cards(body));
        Assert.Empty(await RequestsForAsync(patient.Id));
    }

    [Fact]
    public async Task GivenObservationsPrefetchedAsOnePageOfSeveral_WhenCalled_ThenThePageIsNotUsed_ItIsReadWholeOr412()
    {
        // As the CDS Hooks Sandbox sends it: page 1 of a paged search, with a next link. Used as if complete, it hid the
        // HbA1c on a later page and gave a lower diabetes risk than the patient's whole record.
        var patient = PatientFixture.HighRisk();
        await patient.LoadAsync(Ct);
        var (_, full, _) = await Cds.PatientViewAsync(Client, patient.Call(prefetch: patient.Prefetch()), Ct);
        var paged = patient.Prefetch();
        var observations = paged["observations"]!.AsObject();
        observations["entry"] = new JsonArray([.. observations["entry"]!.AsArray().Take(1).Select(e => e!.DeepClone())]);
        observations["link"] = new JsonArray(
            new JsonObject { ["relation"] = "self", ["url"] = "https://ehr.example.org/fhir/Observation?patient=x&_count=1" },
            new JsonObject { ["relation"] = "next", ["url"] = "https://ehr.example.org/fhir/Observation?patient=x&_count=1&page=2" });

        var (withoutServer, _, withoutText) = await Cds.PatientViewAsync(Client, patient.Call(prefetch: (JsonObject)paged.DeepClone()), Ct);
        var (withServer, body, withText) = await Cds.PatientViewAsync(Client,
            patient.Call(prefetch: paged, fhirServer: TestServices.FhirBaseUrl, accessToken: "tok-paged"), Ct);

        Assert.True(withoutServer == 412, withoutText);
        Assert.Contains("one page of a paged search", withoutText, StringComparison.Ordinal);
        Assert.True(withServer == 200, withText);
        Assert.Equal(Cds.Seen(full), Cds.Seen(body));
        Assert.Contains(await RequestsForAsync(patient.Id), r => r.Url.Contains("/Observation?", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GivenTheFhirServerPagesAKeyBy5_WhenItIsRead_ThenEveryPageIsFollowedAndTheCardsAreThoseOfTheWholeRecord()
    {
        // The reader of fetched Bundles used to drop their links: page 1 of 3 was taken for every observation.
        var patient = PatientFixture.HighRisk();
        await patient.LoadAsync(Ct);
        var (_, full, _) = await Cds.PatientViewAsync(Client, patient.Call(prefetch: patient.Prefetch()), Ct);
        using var admin = new HttpClient();
        var match = Uri.EscapeDataString($"/Observation?patient={patient.Id}&");
        var server = TestServices.FhirBaseUrl.GetLeftPart(UriPartial.Authority)["http://".Length..];
        (await admin.PostAsync(new Uri(TestServices.FhirBaseUrl, $"/__admin/link-host?match={match}&host={server}&max=5"), null, Ct)).EnsureSuccessStatusCode();
        var partial = patient.Prefetch(["patient", "conditions", "medicationStatements", "medicationRequests", "encounters", "questionnaireResponses", "allergies"]);

        var body = await Cds.AnsweredAsync(Client, patient.Call(prefetch: partial, fhirServer: TestServices.FhirBaseUrl, accessToken: "tok-pages"), Ct);

        Assert.Equal(Cds.Seen(full), Cds.Seen(body));
        Assert.True((await RequestsForAsync(patient.Id)).Count(r => r.Url.StartsWith("/fhir/R4/Observation?", StringComparison.Ordinal)) >= 3, "every page was read");
    }

    [Fact]
    public async Task GivenTheFhirServersNextPageIsOnAnotherHost_WhenAKeyIsRead_ThenItIsNotFollowedAndThe412NamesThatHost()
    {
        // The FHIR server pages this search by 5 (its maximum page size) and writes its links on "localhost": the same
        // server, but not the address the EHR gave, so the access token must not follow them there.
        var patient = PatientFixture.HighRisk();
        await patient.LoadAsync(Ct);
        var elsewhere = $"localhost:{TestServices.FhirBaseUrl.Port}";
        using var admin = new HttpClient();
        var match = Uri.EscapeDataString($"/Observation?patient={patient.Id}&");
        (await admin.PostAsync(new Uri(TestServices.FhirBaseUrl, $"/__admin/link-host?match={match}&host={elsewhere}&max=5"), null, Ct)).EnsureSuccessStatusCode();
        var partial = patient.Prefetch(["patient", "conditions", "medicationStatements", "medicationRequests", "encounters", "questionnaireResponses", "allergies"]);

        var (status, body, text) = await Cds.PatientViewAsync(Client, patient.Call(prefetch: partial, fhirServer: TestServices.FhirBaseUrl, accessToken: "tok-elsewhere"), Ct);

        Assert.True(status == 412, text);
        Assert.Contains(body!["missing"]!.AsArray().Select(m => (string)m!), m => m.StartsWith("observations", StringComparison.Ordinal)
            && m.Contains($"next page is on another server (http://{elsewhere}), which is not followed", StringComparison.Ordinal));
        Assert.Single(await RequestsForAsync(patient.Id), r => r.Url.StartsWith("/fhir/R4/Observation?", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GivenSomeKeysAbsent_WhenCalled_ThenOnlyThoseAreReadWithTheBearerTokenAndTheCardsAreTheSameAsWithFullPrefetch()
    {
        var patient = PatientFixture.HighRisk();
        await patient.LoadAsync(Ct);
        var token = "tok-" + Guid.NewGuid().ToString("N");
        var (_, full, fullText) = await Cds.PatientViewAsync(Client, patient.Call(prefetch: patient.Prefetch()), Ct);
        Assert.NotEmpty(Cds.Cards(full));
        var partial = patient.Prefetch(["patient", "medicationStatements", "medicationRequests", "encounters", "questionnaireResponses"]);
        var call = patient.Call(prefetch: partial, fhirServer: TestServices.FhirBaseUrl, accessToken: token);

        var body = await Cds.AnsweredAsync(Client, call, Ct);

        Assert.Equal(Cds.Seen(full), Cds.Seen(body));
        var requests = await RequestsForAsync(patient.Id);
        Assert.Equal(["/fhir/R4/AllergyIntolerance", "/fhir/R4/Condition", "/fhir/R4/Observation"], requests.Select(r => r.Url.Split('?')[0]).Distinct().Order(StringComparer.Ordinal));
        Assert.All(requests, r => Assert.Equal($"Bearer {token}", r.Authorization));
        var stored = await (await fixture.Server.StoredCallsAsync(Ct)).FindAsync("healthrec-patient-risk", (string)call["hookInstance"]!, Ct);
        Assert.Equal("prefetch, fhirServer for observations, conditions, allergies", stored!.DataSource);
    }

    [Fact]
    public async Task GivenNoPrefetchAtAll_WhenCalled_ThenEverythingIsReadFromTheFhirServerAndTheCardsAreTheSame()
    {
        var patient = PatientFixture.HighRisk();
        await patient.LoadAsync(Ct);
        var (_, full, _) = await Cds.PatientViewAsync(Client, patient.Call(prefetch: patient.Prefetch()), Ct);

        var body = await Cds.AnsweredAsync(Client, patient.Call(fhirServer: TestServices.FhirBaseUrl, accessToken: "tok-none"), Ct);

        Assert.Equal(Cds.Seen(full), Cds.Seen(body));
        Assert.Equal(8, (await RequestsForAsync(patient.Id)).Select(r => r.Url.Split('?')[0]).Distinct().Count());
    }

    [Fact]
    public async Task GivenNullKeysAndAnOperationOutcome_WhenCalled_ThenNullMeansNoDataAndTheOperationOutcomeKeyIsReadAgain()
    {
        var patient = PatientFixture.HighRisk();
        await patient.LoadAsync(Ct);
        var prefetch = patient.Prefetch();
        prefetch["medicationStatements"] = null;
        prefetch["observations"] = new JsonObject
        {
            ["resourceType"] = "OperationOutcome",
            ["issue"] = new JsonArray(new JsonObject { ["severity"] = "error", ["code"] = "timeout", ["diagnostics"] = "EHR search timed out" }),
        };

        var body = await Cds.AnsweredAsync(Client, patient.Call(prefetch: prefetch, fhirServer: TestServices.FhirBaseUrl, accessToken: "tok-oo"), Ct);

        Assert.NotEmpty(Cds.Cards(body));
        Assert.Equal(["/fhir/R4/Observation"], (await RequestsForAsync(patient.Id)).Select(r => r.Url.Split('?')[0]).Distinct());
    }

    [Fact]
    public async Task GivenNoPatientInThePrefetchOrOnTheFhirServer_WhenCalled_Then412SaysSoInsteadOfAnEmptyAllClear()
    {
        // Found by reading cards on outside data: a patientId the FHIR server does not know was answered {"cards":[]}.
        var patient = PatientFixture.HighRisk();
        await patient.LoadAsync(Ct);
        var nulled = patient.Prefetch();
        nulled["patient"] = null;
        var unknown = new PatientFixture("male", 60).Call(fhirServer: TestServices.FhirBaseUrl, accessToken: "tok-nobody");

        var (nullStatus, nullBody, nullText) = await Cds.PatientViewAsync(Client, patient.Call(prefetch: nulled), Ct);
        var (unknownStatus, unknownBody, unknownText) = await Cds.PatientViewAsync(Client, unknown, Ct);

        Assert.True(nullStatus == 412, nullText);
        Assert.Equal($"patient (no Patient/{patient.Id} in the prefetch or on the FHIR server)", (string)nullBody!["missing"]![0]!);
        Assert.True(unknownStatus == 412, unknownText);
        Assert.StartsWith("patient (no Patient/", (string)unknownBody!["missing"]![0]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenKeysMissingAndNoFhirServer_WhenCalled_Then412NamesTheKeys()
    {
        var patient = PatientFixture.HighRisk();
        var call = patient.Call(prefetch: patient.Prefetch(["patient", "conditions"]));

        var (status, body, text) = await Cds.PatientViewAsync(Client, call, Ct);

        Assert.True(status == 412, text);
        var missing = body!["missing"]!.AsArray().Select(m => (string)m!).ToList();
        Assert.Equal(5, missing.Count);
        Assert.Contains(missing, m => m.StartsWith("observations (not prefetched", StringComparison.Ordinal));

        // A key that was prefetched but cannot be read is named as such, with what was wrong, not as "not prefetched".
        var unreadable = patient.Call(prefetch: patient.Prefetch());
        unreadable["prefetch"]!["patient"]!["gender"] = 5;
        var (badStatus, badBody, badText) = await Cds.PatientViewAsync(Client, unreadable, Ct);
        Assert.True(badStatus == 412, badText);
        // The keys after the unreadable one are read as usual (the body is read in one pass, each key in place).
        var reason = Assert.Single(badBody!["missing"]!.AsArray())!;
        Assert.StartsWith("patient (prefetched, but not FHIR HealthRec can read (", (string)reason!, StringComparison.Ordinal);
        var stored = await (await fixture.Server.StoredCallsAsync(Ct)).FindAsync("healthrec-patient-risk", (string)call["hookInstance"]!, Ct);
        Assert.Equal(412, stored!.StatusCode);
        Assert.Equal(0, stored.CardCount);
    }

    [Fact]
    public async Task GivenAKeyOnlyTheValidatingParserReads_WhenCalled_ThenItAndTheKeysAfterItAreRead()
    {
        // The prefetch is read in place in the body; a resource the fast reader does not know (an Observation with
        // valueRange) sends that key's bytes to the SDK's parser, and the reading goes on after it.
        var patient = PatientFixture.HighRisk();
        var (_, full, _) = await Cds.PatientViewAsync(Client, patient.Call(prefetch: patient.Prefetch()), Ct);
        var prefetch = patient.Prefetch();
        Assert.Equal("observations", prefetch.Select(p => p.Key).ElementAt(1));
        prefetch["observations"]!["entry"]!.AsArray().Insert(0, JsonNode.Parse($$"""
            {"resource":{"resourceType":"Observation","id":"range-1","status":"final","code":{"text":"a range"},
             "subject":{"reference":"Patient/{{patient.Id}}"},"effectiveDateTime":"2024-01-01","valueRange":{"low":{"value":1} } } }
            """));

        var body = await Cds.AnsweredAsync(Client, patient.Call(prefetch: prefetch), Ct);

        Assert.Equal(Cds.Seen(full), Cds.Seen(body));
    }

    [Fact]
    public async Task GivenTheFhirServerIsDown_WhenKeysAreMissing_Then412SaysItCouldNotBeReached()
    {
        var patient = PatientFixture.HighRisk();
        var down = new Uri($"http://127.0.0.1:{ClosedPort()}/fhir/R4");

        var (status, body, text) = await Cds.PatientViewAsync(Client, patient.Call(prefetch: patient.Prefetch(["patient"]), fhirServer: down), Ct);

        Assert.True(status == 412, text);
        Assert.All(body!["missing"]!.AsArray(), m => Assert.Contains("could not be reached", (string)m!, StringComparison.Ordinal));
    }

    [Fact]
    public async Task GivenTheFhirServerIsSlow_WhenKeysAreMissing_ThenTheAnswerComesWithinTheDeadlineAs412()
    {
        var patient = PatientFixture.HighRisk();
        await patient.LoadAsync(Ct);
        using var http = new HttpClient();
        // Slows down only this patient's requests, so that tests running beside this one are not affected.
        (await http.PostAsync(new Uri(TestServices.FhirBaseUrl, $"/__admin/delay?ms=20000&match={patient.Id}"), null, Ct)).EnsureSuccessStatusCode();
        try
        {
            var clock = Stopwatch.StartNew();
            var (status, body, text) = await Cds.PatientViewAsync(Client, patient.Call(prefetch: patient.Prefetch(["patient", "conditions"]), fhirServer: TestServices.FhirBaseUrl), Ct);
            clock.Stop();

            Assert.True(status == 412, text);
            Assert.Contains(body!["missing"]!.AsArray(), m => ((string)m!).Contains("no answer within 5000 ms", StringComparison.Ordinal));
            // Well before the FHIR server would have answered (20 s): the deadline, not the server, ended the call.
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"answered after {clock.Elapsed}");
        }
        finally
        {
            (await http.PostAsync(new Uri(TestServices.FhirBaseUrl, $"/__admin/delay?ms=0&match={patient.Id}"), null, CancellationToken.None)).EnsureSuccessStatusCode();
        }
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
