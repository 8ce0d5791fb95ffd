namespace HealthRec.Server.Tests;

[Collection(SequentialServers.Name)]
public sealed class CdsDiscoveryTests() : TempFolderTests("healthrec-hooks-")
{
    [Fact]
    public async Task GivenTwoServiceDefinitions_WhenDiscoveryIsRequested_ThenBothAreListedAsDefinedWithoutNulls()
    {
        Write("patient-risk.json", """
            {
              "hook": "patient-view",
              "title": "Risk review",
              "description": "Risks and recommendations for the patient in view",
              "id": "test-patient-risk",
              "prefetch": { "patient": "Patient/{{context.patientId}}", "conditions": "Condition?patient={{context.patientId}}" }
            }
            """);
        Write("order-check.json", """
            {
              "hook": "order-sign",
              "description": "Checks draft orders",
              "id": "test-order-check",
              "usageRequirements": "Needs access to the FHIR server",
              "extension": { "org.example.tier": "gold" }
            }
            """);
        Write("README.md", "Not a definition: only *.json files are read.");
        await using var server = await RunningServer.StartAsync(Settings(), Ct);

        var response = await server.Client.GetAsync(new Uri("/cds-services", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!;
        var services = body["services"]!.AsArray();
        Assert.Equal(["test-order-check", "test-patient-risk"], services.Select(s => (string)s!["id"]!));

        var risk = services.Single(s => (string)s!["id"]! == "test-patient-risk")!;
        Assert.Equal("patient-view", (string)risk["hook"]!);
        Assert.Equal("Risk review", (string)risk["title"]!);
        Assert.Equal("Patient/{{context.patientId}}", (string)risk["prefetch"]!["patient"]!);
        Assert.Equal("Condition?patient={{context.patientId}}", (string)risk["prefetch"]!["conditions"]!);
        Assert.False(risk.AsObject().ContainsKey("usageRequirements"));
        // The one extension a patient-view service gains: the source attribute sets its cards refer to (HTI-1).
        Assert.Equal([HealthRec.Server.CdsHooks.CdsCardExtension.SourceAttributesKey], risk["extension"]!.AsObject().Select(p => p.Key));

        var order = services.Single(s => (string)s!["id"]! == "test-order-check")!.AsObject();
        Assert.Equal("Needs access to the FHIR server", (string)order["usageRequirements"]!);
        Assert.Equal("gold", (string)order["extension"]!["org.example.tier"]!);
        Assert.False(order.ContainsKey("title"));
        Assert.False(order.ContainsKey("prefetch"));
        AssertNoNulls(body);
    }

    [Fact]
    public async Task GivenRepositoryHooksFolder_WhenDiscoveryIsRequested_ThenItListsExactlyTheDefinitionFilesThere()
    {
        var expected = Directory.EnumerateFiles(RunningServer.RepositoryHooks, "*.json")
            .Select(file => (string)JsonNode.Parse(File.ReadAllText(file))!["id"]!)
            .Order(StringComparer.Ordinal);
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?>(), Ct);

        var body = JsonNode.Parse(await server.Client.GetStringAsync(new Uri("/cds-services", UriKind.Relative), Ct))!;

        Assert.Equal(expected, body["services"]!.AsArray().Select(s => (string)s!["id"]!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task GivenAnUnknownServiceId_WhenCalled_ThenItIsNotFound()
    {
        await using var server = await RunningServer.StartAsync(Settings(), Ct);

        using var content = new StringContent("""{"hook":"patient-view","hookInstance":"x","context":{}}""", System.Text.Encoding.UTF8, "application/json");
        var response = await server.Client.PostAsync(new Uri("/cds-services/anything", UriKind.Relative), content, Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Theory]
    [InlineData("", "the file is empty")]
    [InlineData("   \n", "the file is empty")]
    [InlineData("{\"hook\": \"patient-view\", \"id\": ", "not a valid CDS Service definition")]
    [InlineData("null", "JSON null")]
    [InlineData("[]", "not a valid CDS Service definition")]
    [InlineData("{\"hook\": \"patient-view\", \"description\": \"d\"}", "required attribute 'id' is missing")]
    [InlineData("{\"hook\": \"patient-view\", \"id\": \"a\"}", "required attribute 'description' is missing")]
    [InlineData("{\"id\": \"a\", \"description\": \"d\"}", "required attribute 'hook' is missing")]
    [InlineData("{\"hook\": \"patient-view\", \"id\": \"a\", \"description\": \"d\", \"descripton\": \"typo\"}", "descripton")]
    [InlineData("{\"hook\": \"patient-view\", \"id\": \"a b\", \"description\": \"d\"}", "must be a URL path segment")]
    [InlineData("{\"hook\": \"patient-view\", \"id\": \"a\", \"description\": \"d\", \"prefetch\": {}}", "'prefetch' is empty")]
    [InlineData("{\"hook\": \"patient-view\", \"id\": \"a\", \"description\": \"d\", \"title\": \"\"}", "'title' is empty")]
    public async Task GivenMalformedDefinition_WhenServerStarts_ThenStartupFailsNamingTheFileAndProblem(string content, string problem)
    {
        Write("good.json", """{"hook": "patient-view", "id": "good", "description": "fine"}""");
        Write("broken.json", content);

        var error = await Assert.ThrowsAsync<InvalidCdsServiceDefinitionException>(
            () => RunningServer.StartAsync(Settings(), Ct));

        Assert.Contains("broken.json: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("good.json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenTwoFilesWithOneIdAndHook_WhenServerStarts_ThenStartupFailsNamingBothFiles()
    {
        Write("a.json", """{"hook": "patient-view", "id": "same", "description": "first"}""");
        Write("b.json", """{"hook": "patient-view", "id": "same", "description": "second"}""");

        var error = await Assert.ThrowsAsync<InvalidCdsServiceDefinitionException>(() => RunningServer.StartAsync(Settings(), Ct));

        Assert.Contains("b.json: id 'same' is already used by a.json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenOneIdForTwoHooks_WhenServerStarts_ThenStartupFailsAskingForAnIdPerService()
    {
        // Clients key discovered services by id (the CDS Hooks Sandbox does): a second entry with the id hides the first.
        Write("sign.json", """{"hook": "order-sign", "id": "same", "description": "on signing"}""");
        Write("select.json", """{"hook": "order-select", "id": "same", "description": "on selecting"}""");

        var error = await Assert.ThrowsAsync<InvalidCdsServiceDefinitionException>(() => RunningServer.StartAsync(Settings(), Ct));

        Assert.Contains("sign.json: id 'same' is already used by select.json: give each service (each hook) its own id", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenAHookHealthRecDoesNotAnswer_WhenServerStarts_ThenStartupFailsNamingTheHook()
    {
        Write("a.json", """{"hook": "appointment-book", "id": "booking", "description": "not implemented"}""");

        var error = await Assert.ThrowsAsync<InvalidCdsServiceDefinitionException>(() => RunningServer.StartAsync(Settings(), Ct));

        Assert.Contains("a.json: hook 'appointment-book' is not one HealthRec answers", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenMissingDefinitionsFolder_WhenServerStarts_ThenStartupFailsNamingTheSetting()
    {
        var missing = Path.Combine(Folder.FullName, "nope");

        var error = await Assert.ThrowsAsync<InvalidCdsServiceDefinitionException>(() => RunningServer.StartAsync(
            new Dictionary<string, string?> { ["CdsHooks:DefinitionsPath"] = missing }, Ct));

        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
        Assert.Contains("CdsHooks:DefinitionsPath", error.Message, StringComparison.Ordinal);
    }

    private Dictionary<string, string?> Settings() => new() { ["CdsHooks:DefinitionsPath"] = Folder.FullName };

    private void Write(string name, string content) => File.WriteAllText(Path.Combine(Folder.FullName, name), content);

    private static void AssertNoNulls(JsonNode? node)
    {
        switch (node)
        {
            case null:
                Assert.Fail("The response contains a null value.");
                break;
            case JsonObject obj:
                Assert.NotEmpty(obj);
                foreach (var (_, value) in obj)
                {
                    AssertNoNulls(value);
                }

                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    AssertNoNulls(item);
                }

                break;
        }
    }
}
