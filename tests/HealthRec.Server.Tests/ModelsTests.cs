namespace HealthRec.Server.Tests;

[Collection(SequentialServers.Name)]
public sealed class ModelsTests : IDisposable
{
    private readonly DirectoryInfo _registry = Directory.CreateTempSubdirectory("healthrec-models-");

    public void Dispose() => _registry.Delete(recursive: true);

    private static Dictionary<string, string?> Settings(string registry) => new()
    {
        ["Models:Path"] = registry,
        ["Models:TerminologyPath"] = Repo("data/terminology"),
        ["Models:FeatureSchemaPath"] = Repo("models/feature-schema.json"),
    };

    [Fact]
    public async Task GivenNoRegistryYet_WhenTheServerStarts_ThenItIsSeededFromTheShippedModelsAndTheShippedFolderIsUntouched()
    {
        // The default Models:Path is var/models: runtime state, which retraining writes, never the tracked models/.
        Assert.Equal("var/models", new ModelOptions().Path);
        var registry = Path.Combine(_registry.FullName, "var", "models");
        var shipped = Directory.GetFiles(Repo("models"), "*", SearchOption.AllDirectories).ToDictionary(f => f, File.GetLastWriteTimeUtc);
        var settings = Settings(registry);
        settings["Models:SeedPath"] = Repo("models");

        await using (var server = await RunningServer.StartAsync(settings, Ct))
        {
            var models = JsonNode.Parse(await server.Client.GetStringAsync(new Uri("/models", UriKind.Relative), Ct))!.AsArray();
            Assert.Equal(["ascvd-10y", "ckd-5y", "hba1c-1y", "t2d-5y"], models.Select(m => (string)m!["outcome"]!));
        }

        foreach (var outcome in new[] { "ascvd-10y", "ckd-5y", "hba1c-1y", "t2d-5y" })
        {
            Assert.Equal(File.ReadAllText(Repo($"models/{outcome}/current")), File.ReadAllText(Path.Combine(registry, outcome, "current")));
        }

        Assert.Empty(Directory.GetDirectories(Path.GetDirectoryName(registry)!, "models.seeding*"));
        Assert.All(shipped, f => Assert.Equal(f.Value, File.GetLastWriteTimeUtc(f.Key)));

        // An existing registry holds the site's own decisions: a second start leaves it as it is.
        File.WriteAllText(Path.Combine(registry, "t2d-5y", "current"), "v4");
        await using (var again = await RunningServer.StartAsync(settings, Ct))
        {
            var models = JsonNode.Parse(await again.Client.GetStringAsync(new Uri("/models", UriKind.Relative), Ct))!.AsArray();
            Assert.Equal("v4", (string)models.Single(m => (string)m!["outcome"]! == "t2d-5y")!["version"]!);
        }
    }

    [Fact]
    public async Task GivenNodesStartingAtOnceOnOneSharedRegistry_WhenEachSeedsIt_ThenAllSucceedAndTheRegistryIsWhole()
    {
        var registry = Path.Combine(_registry.FullName, "shared", "models");
        var options = new ModelOptions { Path = registry, SeedPath = Repo("models") };
        var shipped = Directory.GetFiles(Repo("models"), "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(Repo("models"), f)).Order().ToList();

        // Eight nodes' start-ups at once (the race two compose nodes on one volume met: one failed with "Directory not empty").
        using var start = new Barrier(8);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            start.SignalAndWait(Ct);
            ModelEndpoints.SeedRegistry(options, _registry.FullName);
        }, Ct)));

        Assert.Equal(shipped, Directory.GetFiles(registry, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(registry, f)).Order().ToList());
        Assert.Empty(Directory.GetDirectories(Path.GetDirectoryName(registry)!, "models.seeding*"));
    }

    [Fact]
    public async Task GivenTheEmbeddedDefault_WhenModelsAreListed_ThenTheFourCommittedModelsAreLoadedWithTheirValidation()
    {
        await using var server = await RunningServer.StartAsync(Settings(Repo("models")), Ct);

        var response = await server.Client.GetAsync(new Uri("/models", UriKind.Relative), Ct);
        var models = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!.AsArray();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["ascvd-10y", "ckd-5y", "hba1c-1y", "t2d-5y"], models.Select(m => (string)m!["outcome"]!));
        // ASCVD and CKD have validated reference equations, which answer until a model beats them at the gate; the others are LightGBM.
        foreach (var (outcome, equation, name) in new[] { ("ascvd-10y", "prevent-ascvd", "PREVENT (AHA 2024)"), ("ckd-5y", "ckdpc-egfr60", "CKD-PC (Nelson 2019)") })
        {
            var answered = models.Single(m => (string)m!["outcome"]! == outcome)!;
            Assert.Equal(equation, (string)answered["version"]!);
            Assert.Equal("reference", (string)answered["champion"]!);
            Assert.Equal("v5", (string)answered["challenger"]!);
            Assert.False((bool)answered["trainedOnSyntheticData"]!);
            Assert.StartsWith(name, (string)answered["validation"]!, StringComparison.Ordinal);
        }

        var trained = models.Where(m => (string)m!["outcome"]! is not ("ascvd-10y" or "ckd-5y")).ToList();
        Assert.Equal(2, trained.Count);
        Assert.All(trained, m => Assert.True((bool)m!["trainedOnSyntheticData"]!));
        Assert.All(trained, m => Assert.StartsWith("LightGBM, held-out test of ", (string)m!["validation"]!, StringComparison.Ordinal));
        Assert.All(trained, m => Assert.Equal("model", (string)m!["champion"]!));
        Assert.Null(models.Single(m => (string)m!["outcome"]! == "hba1c-1y")!["threshold"]);
    }

    [Fact]
    public async Task GivenANewVersion_WhenTheCatalogReloadsUnderLoad_ThenNoRequestFailsAndTheNewVersionAnswers()
    {
        RegisterCommittedT2dAsV1();
        await using var server = await RunningServer.StartAsync(Settings(_registry.FullName), Ct);
        var catalog = server.Services.GetRequiredService<ModelCatalog>();
        var (record, at) = Patient();

        using var stop = new CancellationTokenSource();
        var failures = 0;
        var requests = 0;
        var load = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var response = await server.Client.GetAsync(new Uri("/models", UriKind.Relative), Ct);
                    using (var lease = catalog.Lease())
                    {
                        _ = lease.Models.Predictors["t2d-5y"].Predict(record, at) ?? throw new InvalidOperationException("no estimate");
                    }

                    if (!response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
                catch (Exception) when (!stop.IsCancellationRequested)
                {
                    Interlocked.Increment(ref failures);
                }

                Interlocked.Increment(ref requests);
            }
        }, Ct);

        // Counted, not timed: under CI's load a first request can take longer than any fixed window.
        async Task RequestsReachAsync(int count)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            while (Volatile.Read(ref requests) < count)
            {
                await Task.Delay(20, timeout.Token);
            }
        }

        await RequestsReachAsync(10);
        RegisterV2();
        catalog.Reload();
        await RequestsReachAsync(Volatile.Read(ref requests) + 10);
        await stop.CancelAsync();
        await load;

        Assert.Equal(0, failures);
        Assert.Equal("v2", catalog.Predictors["t2d-5y"].Manifest.Version);
        var listed = JsonNode.Parse(await server.Client.GetStringAsync(new Uri("/models", UriKind.Relative), Ct))!.AsArray();
        Assert.Equal("v2", (string)listed.Single()!["version"]!);
    }

    [Fact]
    public async Task GivenALeasedModelSet_WhenTheCatalogSwapsIt_ThenTheLeaseKeepsPredictingUntilReleasedAndOnlyThenIsItDisposed()
    {
        RegisterCommittedT2dAsV1();
        await using var server = await RunningServer.StartAsync(Settings(_registry.FullName), Ct);
        var catalog = server.Services.GetRequiredService<ModelCatalog>();
        var (record, at) = Patient();
        var lease = catalog.Lease();
        var old = lease.Models;

        RegisterV2();
        catalog.Reload();

        // A job that leased v1 before the promotion keeps predicting with it, however long it runs.
        Assert.NotSame(old, catalog.Current);
        Assert.False(old.IsDisposed);
        Assert.Equal("v1", old.Predictors["t2d-5y"].Predict(record, at)!.ModelVersion);
        lease.Dispose();
        lease.Dispose();
        Assert.True(old.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => old.Predictors["t2d-5y"].Predict(record, at));

        // A set nobody leases goes at the swap itself; a lease disposed twice releases once.
        var v2 = catalog.Current;
        using (var twice = catalog.Lease())
        {
            twice.Dispose();
        }

        Assert.False(v2.IsDisposed);
        catalog.Reload();
        Assert.True(v2.IsDisposed);
        using var current = catalog.Lease();
        Assert.Equal("v2", current.Models.Predictors["t2d-5y"].Predict(record, at)!.ModelVersion);
    }

    // A registry holding the committed t2d-5y model as its only version, v1.
    private void RegisterCommittedT2dAsV1()
    {
        var current = File.ReadAllText(Repo("models/t2d-5y/current")).Trim();
        var v1 = Path.Combine(_registry.FullName, "t2d-5y", "v1");
        TestServices.CopyFolder(Repo($"models/t2d-5y/{current}"), v1);
        Retag(Path.Combine(v1, "bundle.json"), current, "v1");
        File.WriteAllText(Path.Combine(_registry.FullName, "t2d-5y", "current"), "v1");
    }

    // A retrained version, as `healthrec train` would register it next to v1.
    private void RegisterV2()
    {
        var v2 = Path.Combine(_registry.FullName, "t2d-5y", "v2");
        TestServices.CopyFolder(Path.Combine(_registry.FullName, "t2d-5y", "v1"), v2);
        Retag(Path.Combine(v2, "bundle.json"), "v1", "v2");
        File.WriteAllText(Path.Combine(_registry.FullName, "t2d-5y", "current"), "v2");
    }

    private static (PatientRecord Record, DateTimeOffset At) Patient()
    {
        var patient = new PatientRecordBuilder("p") { BirthDate = new DateOnly(1960, 1, 1), Sex = Sex.Female, HasDemographics = true };
        patient.Add("hba1c", new Measurement(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero), 6.1, false));
        return (patient.Build(), new DateTimeOffset(2020, 6, 1, 0, 0, 0, TimeSpan.Zero));
    }

    private static void Retag(string manifest, string from, string to) =>
        File.WriteAllText(manifest, File.ReadAllText(manifest).Replace($"\"version\": \"{from}\"", $"\"version\": \"{to}\"", StringComparison.Ordinal));
}

[Collection(SequentialServers.Name)]
public sealed class KnowledgeTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("healthrec-knowledge-");

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public async Task GivenTheCommittedCatalog_WhenInterventionsAreListed_ThenEachComesWithItsIndicationAndEvidence()
    {
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?>(), Ct);

        var items = JsonNode.Parse(await server.Client.GetStringAsync(new Uri("/interventions", UriKind.Relative), Ct))!.AsArray();

        Assert.True(items.Count >= 25, $"{items.Count} interventions");
        Assert.All(items, i => Assert.NotEmpty(i!["evidence"]!.AsArray()));
        // A prevention item names the disease it prevents among the reasons it is never suggested.
        Assert.Contains(items, i => (string)i!["id"]! == "diabetes-prevention-programme" && i["contraindications"]!.AsArray().Any(c => ((string)c!).Contains("already has type 2 diabetes", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task GivenACatalogItemWithoutEvidence_WhenTheServerStarts_ThenStartUpFailsNamingTheItem()
    {
        var catalog = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(TestServices.RepositoryRoot, "data", "knowledge", "interventions.json"), Ct))!;
        catalog["entry"]!.AsArray().Select(e => e!["resource"]!).Single(r => (string)r["id"]! == "ezetimibe").AsObject().Remove("relatedArtifact");
        var broken = Path.Combine(_folder.FullName, "interventions.json");
        await File.WriteAllTextAsync(broken, catalog.ToJsonString(), Ct);

        var ex = await Assert.ThrowsAsync<Fhir.Knowledge.CatalogException>(() => RunningServer.StartAsync(
            new Dictionary<string, string?>
            {
                ["Knowledge:CatalogPath"] = broken,
                ["Knowledge:MedicationSafetyPath"] = Path.Combine(TestServices.RepositoryRoot, "data", "knowledge", "medication-safety.json"),
            }, Ct));

        Assert.Contains("ezetimibe: no evidence", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenTheModelsInUse_WhenEachDeviceIsRead_ThenItIsTheAnsweringVersionLabelledAiOnlyWhenATrainedModelAnswers()
    {
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?>(), Ct);
        var models = JsonNode.Parse(await server.Client.GetStringAsync(new Uri("/models", UriKind.Relative), Ct))!.AsArray();

        foreach (var model in models)
        {
            var outcome = (string)model!["outcome"]!;
            using var response = await server.Client.GetAsync(new Uri($"/models/{outcome}/device", UriKind.Relative), Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
            // The SDK's validating parser: the whole resource, every element checked.
            var device = Assert.IsType<Hl7.Fhir.Model.Device>(System.Text.Json.JsonSerializer.Deserialize<Hl7.Fhir.Model.Resource>(
                await response.Content.ReadAsStringAsync(Ct), HealthRec.Fhir.FhirJson.Options));
            Assert.Equal($"{outcome}|{(string)model["version"]!}", Assert.Single(device.Identifier).Value);
            Assert.Equal((string)model["version"]!, Assert.Single(device.Version).Value);
            Assert.EndsWith($"/models/{outcome}", device.Url, StringComparison.Ordinal);
            var trained = (string)model["champion"]! == "model";
            Assert.Equal(trained, device.Meta?.Security.Any(c => c.Code == "AIAST") == true);
            // A trained model is an AI Device (type fixed by HL7 AI Transparency, its kind in a note); an equation says what it is.
            Assert.Equal(trained ? null : "Published risk equation", device.Type?.Text);
            Assert.Equal(trained ? "Artificial-Intelligence" : null, device.Type?.Coding.SingleOrDefault()?.Code);
            Assert.Equal(trained, device.Note.Any(n => n.Text?.Contains("LightGBM gradient-boosted trees", StringComparison.Ordinal) == true));
            Assert.Contains(device.Note, n => n.Text?.StartsWith("Validation: ", StringComparison.Ordinal) == true);
        }

        Assert.Contains(models, m => (string)m!["champion"]! == "reference");
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync(new Uri("/models/no-such/device", UriKind.Relative), Ct)).StatusCode);
    }

    [Fact]
    public async Task GivenTheServer_WhenItsRiskManagementIsRead_ThenEachOfTheEightCharacteristicsHasEvidenceAndTheModelsFiguresAreTheirs()
    {
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?>(), Ct);

        var assessment = JsonNode.Parse(await server.Client.GetStringAsync(new Uri("/models/risk-management", UriKind.Relative), Ct))!.AsArray();

        Assert.Equal(["validity", "reliability", "robustness", "fairness", "intelligibility", "safety", "security", "privacy"],
            assessment.Select(c => (string)c!["name"]!));
        Assert.All(assessment, c => Assert.NotEmpty(c!["evidence"]!.AsArray()));
        Assert.All(assessment.SelectMany(c => c!["evidence"]!.AsArray()), e => Assert.False(string.IsNullOrWhiteSpace((string?)e!["source"])));
        // Validity names each served model's own validation; safety counts the rules actually loaded.
        var models = JsonNode.Parse(await server.Client.GetStringAsync(new Uri("/models", UriKind.Relative), Ct))!.AsArray();
        var validity = assessment.Single(c => (string)c!["name"]! == "validity")!["evidence"]!.AsArray().Select(e => (string)e!["text"]!).ToList();
        Assert.All(models, m => Assert.Contains(validity, t => t.StartsWith($"{(string)m!["outcome"]!} ({(string)m["version"]!}): {(string)m["validation"]!}", StringComparison.Ordinal)));
        var rules = JsonNode.Parse(await server.Client.GetStringAsync(new Uri("/medication-safety", UriKind.Relative), Ct))!["rules"]!.AsArray().Count;
        Assert.StartsWith($"{rules} medication-safety rules", (string)assessment.Single(c => (string)c!["name"]! == "safety")!["evidence"]![0]!["text"]!, StringComparison.Ordinal);

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/models/risk-management", UriKind.Relative));
        request.Headers.Accept.ParseAdd("text/html");
        using var page = await server.Client.SendAsync(request, Ct);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Equal(8, System.Text.RegularExpressions.Regex.Count(await page.Content.ReadAsStringAsync(Ct), "data-characteristic="));
    }
}
