namespace HealthRec.Server.Tests.CdsHooks;

/// <summary>A malformed call gets a 400 (or 413) whose body says what is wrong, and nothing is scored or stored.</summary>
[Collection(SequentialServers.Name)]
public sealed class BadRequestTests(CdsServer fixture) : IClassFixture<CdsServer>
{
    private HttpClient Client => fixture.Server.Client;

    public static TheoryData<string, string> Malformed => new()
    {
        { "remove:hook", "'hook' is required" },
        { "hook=order-sign", "'hook' is 'order-sign', but this service answers 'patient-view'" },
        { "remove:hookInstance", "'hookInstance' is required" },
        { "hookInstance=not-a-uuid", "'hookInstance' must be a UUID" },
        { "remove:context", "'context' is required and must be an object" },
        { "context.patientId=", "'context.patientId' must be a non-empty string" },
        { "remove:context.patientId", "'context.patientId' is required for patient-view" },
        { "remove:context.userId", "'context.userId' is required for patient-view" },
        { "context.patientId=../Patient?_id=x", "'context.patientId' must be a FHIR id" },
        { "fhirServer=ftp://ehr.example.org/fhir", "'fhirServer' must be an absolute https URL" },
        { "fhirServer=http://ehr.example.org/fhir", "'fhirServer' must use https" },
        { "fhirAuthorization-without-fhirServer", "'fhirServer' is required when 'fhirAuthorization' is given" },
        { "fhirAuthorization.token_type=MAC", "'fhirAuthorization.token_type' must be 'Bearer'" },
        { "null:encounterId", "'encounterId' is null" },
        { "prefetch=[]", "'prefetch' must be an object of prefetch keys" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task GivenAMalformedCall_WhenPosted_Then400SaysWhatIsWrong(string change, string expected)
    {
        var patient = PatientFixture.HighRisk();
        var call = patient.Call(prefetch: patient.Prefetch(), fhirServer: new Uri("https://ehr.example.org/fhir"), accessToken: "t");
        Apply(call, change);

        var (status, body, text) = await Cds.PatientViewAsync(Client, call, Ct);

        Assert.True(status == 400, text);
        Assert.Equal("The CDS Hooks request is not valid", (string)body!["title"]!);
        Assert.Contains(body["errors"]!.AsArray(), e => ((string)e!).Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("\\udc00", "unpaired UTF-16 surrogate escape")]
    [InlineData("\\ud800x", "unpaired UTF-16 surrogate escape")]
    [InlineData("latin1", "not valid UTF-8")]
    public async Task GivenAStringThatIsNotUnicode_WhenPosted_Then400SaysSo(string inserted, string expected)
    {
        var patient = PatientFixture.HighRisk();
        var text = patient.Call(prefetch: patient.Prefetch()).ToJsonString();
        var at = text.IndexOf("Practitioner/example", StringComparison.Ordinal);
        var bytes = inserted == "latin1"
            ? [.. Encoding.UTF8.GetBytes(text[..at]), 0xE9, .. Encoding.UTF8.GetBytes(text[at..])]
            : Encoding.UTF8.GetBytes(text.Insert(at, inserted));
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");

        var response = await Client.PostAsync(new Uri("/cds-services/healthrec-patient-risk", UriKind.Relative), content, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!;
        Assert.Equal("The request body is not valid Unicode", (string)body["title"]!);
        Assert.Contains(expected, (string)body["detail"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenDraftOrdersWhoseEntryIsAnObject_WhenPosted_Then400NamesIt()
    {
        var patient = PatientFixture.HighRisk();
        var orders = PatientFixture.DraftOrders(patient.Draft("29046", "lisinopril 10 MG Oral Tablet"));
        orders["entry"] = orders["entry"]!.AsArray()[0]!.DeepClone();
        var call = patient.Call("order-sign", patient.Prefetch(), extraContext: new JsonObject { ["draftOrders"] = orders });

        var (status, body, text) = await Cds.OrderCheckAsync(Client, call, Ct);

        Assert.True(status == 400, text);
        Assert.Contains(body!["errors"]!.AsArray(), e => ((string)e!).Contains("'context.draftOrders.entry' must be an array", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("order-select", "MedicationRequest/not-sent", null, "'context.selections' names 'MedicationRequest/not-sent', which is not among the entries of 'context.draftOrders'")]
    [InlineData("order-sign", null, "Patient/someone-else", "is for Patient/someone-else, not the context's patient")]
    [InlineData("order-sign", null, "https://ehr.example.org/fhir/Patient/someone-else/_history/2", "is for https://ehr.example.org/fhir/Patient/someone-else, not the context's patient")]
    public async Task GivenDraftOrdersThatContradictTheContext_WhenPosted_Then400NamesTheContradiction(string hook, string? selection, string? subject, string expected)
    {
        // A selection the drafts lack would be checked by nobody, and a draft for another patient checked against this
        // one's record: either answered with silence or with the wrong person's checks.
        var patient = PatientFixture.HighRisk();
        var draft = patient.Draft("29046", "lisinopril 10 MG Oral Tablet");
        if (subject is not null)
        {
            draft.Subject = new Hl7.Fhir.Model.ResourceReference(subject);
        }

        var context = new JsonObject { ["draftOrders"] = PatientFixture.DraftOrders(draft) };
        if (selection is not null)
        {
            context["selections"] = new JsonArray(selection);
        }

        var (status, body, text) = await Cds.OrderCheckAsync(Client, patient.Call(hook, patient.Prefetch(), extraContext: context), Ct);

        Assert.True(status == 400, text);
        Assert.Contains(body!["errors"]!.AsArray(), e => ((string)e!).Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Patient/{0}")]
    [InlineData("https://ehr.example.org/fhir/Patient/{0}/_history/3")]
    public async Task GivenASelectionByAbsoluteUrlAndTheDraftForThisPatient_WhenSelected_ThenTheDraftIsChecked(string subject)
    {
        // A man with no kidney function recorded: a metformin draft that is checked gets a card saying what could not be.
        var patient = new PatientFixture("male", 60).Visit(20);
        var draft = patient.Draft("860975", "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet");
        draft.Subject = new Hl7.Fhir.Model.ResourceReference(string.Format(CultureInfo.InvariantCulture, subject, patient.Id));
        var context = new JsonObject
        {
            ["draftOrders"] = PatientFixture.DraftOrders(draft),
            ["selections"] = new JsonArray($"https://ehr.example.org/fhir/MedicationRequest/{draft.Id}"),
        };

        var body = await Cds.AnsweredAsync(Client, patient.Call("order-select", patient.Prefetch(), extraContext: context), Ct);

        Assert.Contains(Cds.Cards(body), c => ((string?)c!["detail"] ?? "").Contains($"(draft order MedicationRequest/{draft.Id})", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GivenMoreDraftOrdersThanTheCap_WhenSigned_Then400NamesTheCapAndItsSetting()
    {
        var patient = PatientFixture.HighRisk();
        var drafts = Enumerable.Range(0, 201).Select(_ => (Hl7.Fhir.Model.Resource)patient.Draft("29046", "lisinopril 10 MG Oral Tablet")).ToArray();
        var call = patient.Call("order-sign", patient.Prefetch(), extraContext: new JsonObject { ["draftOrders"] = PatientFixture.DraftOrders(drafts) });

        var (status, body, text) = await Cds.OrderCheckAsync(Client, call, Ct);

        Assert.True(status == 400, text);
        Assert.Contains(body!["errors"]!.AsArray(), e => ((string)e!).Contains("holds 201 entries: at most 200 are checked in one call (setting CdsHooks:MaxDraftOrders)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GivenAPrefetchValueThatIsAnArray_WhenPosted_ThenTheKeyCountsAsMissing_412()
    {
        var patient = PatientFixture.HighRisk();
        var prefetch = patient.Prefetch();
        prefetch["patient"] = new JsonArray();

        var (status, _, text) = await Cds.PatientViewAsync(Client, patient.Call(prefetch: prefetch), Ct);

        Assert.True(status == 412, text);
        Assert.Contains("patient", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"hook\": \"patient-view\",", "The request body is not JSON")]
    [InlineData("[1, 2]", "The CDS Hooks request is not valid")]
    [InlineData("", "The request body is not JSON")]
    [InlineData("{\"hook\": \"patient-view\"} x", "The request body is not JSON")]
    [InlineData("{\"hook\": \"patient-view\", \"prefetch\": {\"patient\": {\"resourceType\": \"Patient\", \"id\": \"x", "The request body is not JSON")]
    [InlineData("{\"prefetch\": {\"patient\": {\"resourceType\": \"Patient\", \"gender\": [1,]}}}", "The request body is not JSON")]
    [InlineData("{\"prefetch\": {\"notAKeyOfTheService\": [1,}}", "The request body is not JSON")]
    [InlineData("{\"hook\": \"patient-view\", \"prefetch\": \"all\"}", "The CDS Hooks request is not valid")]
    public async Task GivenABodyThatIsNotACall_WhenPosted_Then400(string body, string title)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        var response = await Client.PostAsync(new Uri("/cds-services/healthrec-patient-risk", UriKind.Relative), content, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(title, (string)JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!["title"]!);
    }

    [Fact]
    public async Task GivenABodyWithAByteOrderMark_WhenPosted_ThenItIsReadAsWithout()
    {
        var patient = PatientFixture.HighRisk();
        var json = Encoding.UTF8.GetBytes(patient.Call(prefetch: patient.Prefetch()).ToJsonString());
        using var content = new ByteArrayContent([0xEF, 0xBB, 0xBF, .. json]);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");

        var response = await Client.PostAsync(new Uri("/cds-services/healthrec-patient-risk", UriKind.Relative), content, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotEmpty(JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!["cards"]!.AsArray());
    }

    [Fact]
    public async Task GivenABodyLargerThanTheLimit_WhenPosted_Then413SaysSo()
    {
        var patient = PatientFixture.HighRisk();
        var call = patient.Call(prefetch: patient.Prefetch());
        call["extension"] = new JsonObject { ["org.example.padding"] = new string('x', 17 * 1024 * 1024) };

        var (status, body, text) = await Cds.PatientViewAsync(Client, call, Ct);

        Assert.True(status == 413, text[..Math.Min(300, text.Length)]);
        Assert.Contains("CdsHooks:MaxRequestBytes", (string)body!["detail"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenAnOrderSignWithoutDraftOrders_WhenPosted_Then400NamesTheField()
    {
        var patient = PatientFixture.HighRisk();
        var call = patient.Call("order-sign", patient.Prefetch());

        var (status, body, text) = await Cds.OrderCheckAsync(Client, call, Ct);

        Assert.True(status == 400, text);
        Assert.Contains(body!["errors"]!.AsArray(), e => (string)e! == "'context.draftOrders' is required for order-sign");
    }

    private static void Apply(JsonObject call, string change)
    {
        var context = call["context"]!.AsObject();
        switch (change)
        {
            case "fhirAuthorization-without-fhirServer":
                call.Remove("fhirServer");
                return;
            case var c when c.StartsWith("remove:context.", StringComparison.Ordinal):
                context.Remove(c["remove:context.".Length..]);
                return;
            case var c when c.StartsWith("remove:", StringComparison.Ordinal):
                call.Remove(c["remove:".Length..]);
                return;
            case "null:encounterId":
                call["encounterId"] = null;
                return;
            case "prefetch=[]":
                call["prefetch"] = new JsonArray();
                return;
            case var c when c.StartsWith("context.", StringComparison.Ordinal):
                var (name, value) = Split(c["context.".Length..]);
                context[name] = value;
                return;
            case var c when c.StartsWith("fhirAuthorization.", StringComparison.Ordinal):
                var (field, text) = Split(c["fhirAuthorization.".Length..]);
                call["fhirAuthorization"]![field] = text;
                return;
            default:
                var (key, v) = Split(change);
                call[key] = v;
                return;
        }
    }

    private static (string Name, string Value) Split(string assignment)
    {
        var at = assignment.IndexOf('=', StringComparison.Ordinal);
        return (assignment[..at], assignment[(at + 1)..]);
    }
}
