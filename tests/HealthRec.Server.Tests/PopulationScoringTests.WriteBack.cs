namespace HealthRec.Server.Tests;

/// <summary>Write-back of a run's estimates as RiskAssessments to the real FHIR server.</summary>
public sealed partial class PopulationScoringTests
{
    [Fact]
    public async Task GivenWriteBack_WhenARunCompletesAndASecondRunFollows_ThenEachBinaryEstimateIsOneProfiledRiskAssessmentUpdatedNotDuplicated()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(Ct);
        var settings = Node(database.ConnectionString);
        settings["Jobs:Scoring:ChunkSize"] = "100";
        settings["Jobs:Scoring:WriteBackUrl"] = TestServices.FhirBaseUrl.ToString();
        await using var server = await RunningServer.StartAsync(settings, Ct);
        var store = server.Services.GetRequiredService<ScoreStore>();
        using var fhir = new Hl7.Fhir.Rest.FhirClient(TestServices.FhirBaseUrl,
            new Hl7.Fhir.Rest.FhirClientSettings { PreferredFormat = Hl7.Fhir.Rest.ResourceFormat.Json, VerifyFhirVersion = false, Timeout = 60_000 });

        await TriggerAsync(server);
        var first = await CompletedRunAsync(server, _ => true);
        var rows = (await RowsAsync(store, first.RunId)).Where(r => r.Outcome != "hba1c-1y").ToList();
        var written = await RiskAssessmentsAsync(fhir, rows.Select(r => r.PatientId).ToHashSet(StringComparer.Ordinal));

        // Each chunk's write-back is in the audit trail: the server, how many, and that it succeeded.
        var (writeBacks, _) = await (await server.AuditAsync(Ct)).SearchAsync(new Data.AuditQuery("AuditEvent")
        {
            Filters = [new("subtype", ["write-back"]), new("outcome", ["0"])],
        }, 1000, Ct);
        Assert.Equal(first.ChunkCount, writeBacks.Count(w => w.ResourceJson.Contains(first.RunId, StringComparison.Ordinal)));

        // The FHIR test server outlives a test run: resources of earlier runs may be there too, but never twice.
        Assert.Subset(written.Keys.ToHashSet(StringComparer.Ordinal), rows.Select(r => $"{r.PatientId}:{r.Outcome}").ToHashSet(StringComparer.Ordinal));
        foreach (var row in rows)
        {
            var resource = written[$"{row.PatientId}:{row.Outcome}"];
            Assert.StartsWith("2024-12-31", Assert.IsType<Hl7.Fhir.Model.FhirDateTime>(resource.Occurrence).Value, StringComparison.Ordinal);
            Assert.Equal($"Patient/{row.PatientId}", resource.Subject.Reference);
            Assert.Equal((decimal)Math.Round(row.Estimate, 4), Assert.IsType<Hl7.Fhir.Model.FhirDecimal>(resource.Prediction[0].Probability).Value);
            Assert.Equal(row.ModelVersion, resource.Method!.Coding[0].Version);
            // ASCVD and CKD are answered by published equations, and the resource says so; the others by HealthRec's models.
            var equation = row.Outcome switch
            {
                "ascvd-10y" => "PREVENT (AHA 2024), 10-year ASCVD",
                "ckd-5y" => "CKD-PC (Nelson 2019), 5-year incident eGFR below 60",
                _ => null,
            };
            Assert.StartsWith(equation is null ? "HealthRec LightGBM model" : $"{equation}, a published equation", resource.Method.Text, StringComparison.Ordinal);
            // The model version (or equation) that gave it, as the Device GET /models/{outcome}/device describes.
            Assert.Equal($"{row.Outcome}|{row.ModelVersion}", resource.Performer?.Identifier?.Value);
            // HL7 AI Transparency: a model's estimate is labelled AI-asserted (AIAST), the equation's is not.
            Assert.Equal(equation is null, resource.Meta?.Security.Any(c => c.System == "http://terminology.hl7.org/CodeSystem/v3-ObservationValue" && c.Code == "AIAST") == true);
            // ...with its AI Provenance contained, kept by the FHIR server, naming the model version that performed it.
            var provenance = resource.Contained.OfType<Hl7.Fhir.Model.Provenance>().SingleOrDefault();
            Assert.Equal(equation is null, provenance is not null);
            Assert.True(provenance is null || Assert.Single(provenance.Agent).Who?.Identifier?.Value == resource.Performer?.Identifier?.Value);
        }

        Assert.Contains(rows, r => r.Outcome == "ascvd-10y" && r.ModelVersion == "prevent-ascvd");
        Assert.Contains(rows, r => r.Outcome == "ckd-5y" && r.ModelVersion == "ckdpc-egfr60");

        // A second run, as of a later date: the same resources, updated.
        await TriggerAsync(server, "2025-06-30");
        var second = await CompletedRunAsync(server, r => r.RunId != first.RunId);
        var updated = await RiskAssessmentsAsync(fhir, rows.Select(r => r.PatientId).ToHashSet(StringComparer.Ordinal));
        var secondRows = (await RowsAsync(store, second.RunId)).Where(r => r.Outcome != "hba1c-1y").ToList();
        Assert.Equal(written.Keys.Union(secondRows.Select(r => $"{r.PatientId}:{r.Outcome}")).Order(StringComparer.Ordinal), updated.Keys.Order(StringComparer.Ordinal));
        foreach (var row in secondRows)
        {
            var resource = updated[$"{row.PatientId}:{row.Outcome}"];
            Assert.StartsWith("2025-06-30", Assert.IsType<Hl7.Fhir.Model.FhirDateTime>(resource.Occurrence).Value, StringComparison.Ordinal);
            if (written.TryGetValue($"{row.PatientId}:{row.Outcome}", out var before))
            {
                Assert.Equal(before.Id, resource.Id);
                Assert.NotEqual(before.Meta!.VersionId, resource.Meta!.VersionId);
            }
        }

        // What the writer sends conforms to the HealthRec profile: zero errors.
        var validator = ProfileValidation.Validator.Value;
        var model = server.Services.GetRequiredService<ModelCatalog>().Current.Predictors["t2d-5y"];
        foreach (var row in secondRows.Where(r => r.Outcome == "t2d-5y").Take(20))
        {
            var resource = RiskAssessmentWriter.Build(row, model.Definition, model.Manifest.Validation, second.IndexAt, synthetic: true)!;
            var outcome = validator.Validate(resource, RiskAssessmentWriter.Profile);
            Assert.True(outcome.Errors == 0 && outcome.Fatals == 0, outcome.ToString());
        }
    }

    [Fact]
    public async Task GivenAModelPromotedOverTheEquation_WhenWrittenBack_ThenEachRiskAssessmentGivesTheEquationsFigureBesideIt()
    {
        // A copy of the default registry in which the ascvd-10y model passed the gate against PREVENT (its decision rewritten so).
        var registry = Folder.CreateSubdirectory("promoted-registry").FullName;
        TestServices.CopyFolder("models", registry);
        var version = File.ReadAllText(Path.Combine(registry, "ascvd-10y", "current")).Trim();
        var gate = Path.Combine(registry, "ascvd-10y", version, ML.Registry.PromotionGate.FileName);
        var decision = JsonNode.Parse(File.ReadAllText(gate))!;
        Assert.Equal("prevent-ascvd", (string)decision["reference"]!);
        decision["promote"] = true;
        decision["overReference"] = true;
        File.WriteAllText(gate, decision.ToJsonString());

        await using var database = await PostgresTestDatabase.CreateAsync(Ct);
        var settings = Node(database.ConnectionString);
        settings["Models:Path"] = registry;
        settings["Jobs:Scoring:ChunkSize"] = "100";
        settings["Jobs:Scoring:WriteBackUrl"] = TestServices.FhirBaseUrl.ToString();
        await using var server = await RunningServer.StartAsync(settings, Ct);
        using var fhir = new Hl7.Fhir.Rest.FhirClient(TestServices.FhirBaseUrl,
            new Hl7.Fhir.Rest.FhirClientSettings { PreferredFormat = Hl7.Fhir.Rest.ResourceFormat.Json, VerifyFhirVersion = false, Timeout = 60_000 });

        await TriggerAsync(server);
        var run = await CompletedRunAsync(server, _ => true);
        var rows = (await RowsAsync(server.Services.GetRequiredService<ScoreStore>(), run.RunId)).Where(r => r.Outcome == "ascvd-10y").ToList();
        Assert.NotEmpty(rows);
        Assert.All(rows, r => Assert.Equal(version, r.ModelVersion));
        var written = await RiskAssessmentsAsync(fhir, rows.Select(r => r.PatientId).ToHashSet(StringComparer.Ordinal));

        // Each note gives what PREVENT gives the same record (or why it gives nothing), then the equations alongside
        // (PREVENT's total CVD and heart failure), as the card does.
        using var lease = server.Services.GetRequiredService<ModelCatalog>().Lease();
        var predictor = lease.Models.Predictors["ascvd-10y"];
        var mapper = server.Services.GetRequiredService<FhirRecordMapper>();
        var records = new Dictionary<string, Clinical.Records.PatientRecord>(StringComparer.Ordinal);
        await foreach (var record in RecordReader.ReadAsync(new NdjsonSource(Path.Combine(TestServices.RepositoryRoot, "data", "sample")), mapper, new IngestionReport(), Ct))
        {
            records[record.PatientId] = record;
        }

        foreach (var row in rows)
        {
            var resource = written[$"{row.PatientId}:{row.Outcome}"];
            Assert.StartsWith($"HealthRec LightGBM model ascvd-10y {version}", resource.Method!.Text, StringComparison.Ordinal);
            var prediction = predictor.WithAlongside(predictor.Predict(records[row.PatientId], run.IndexAt)!, records[row.PatientId], run.IndexAt);
            var note = resource.Note[0].Text;
            Assert.EndsWith(Server.CdsHooks.PatientRiskCards.Beside(prediction), note, StringComparison.Ordinal);
            Assert.Contains(Server.CdsHooks.PatientRiskCards.ReferenceBeside(row.Estimate, prediction.Reference!, markdown: false), note, StringComparison.Ordinal);
            Assert.Contains("PREVENT (AHA 2024), 10-year heart failure", note, StringComparison.Ordinal);
        }

        var notes = rows.Select(r => written[$"{r.PatientId}:{r.Outcome}"].Note[0].Text ?? "").ToList();
        Assert.Contains(notes, n => n.Contains("The validated equation (PREVENT (AHA 2024), 10-year ASCVD) gives ", StringComparison.Ordinal)
            && !n.Contains("gives no figure", StringComparison.Ordinal));
    }

    private static async Task<Dictionary<string, Hl7.Fhir.Model.RiskAssessment>> RiskAssessmentsAsync(Hl7.Fhir.Rest.FhirClient fhir, HashSet<string> patients)
    {
        var found = new Dictionary<string, Hl7.Fhir.Model.RiskAssessment>(StringComparer.Ordinal);
        var page = await fhir.SearchAsync<Hl7.Fhir.Model.RiskAssessment>(new Hl7.Fhir.Rest.SearchParams { Count = 1000 }, Ct);
        while (page is not null)
        {
            foreach (var resource in page.Entry.Select(e => e.Resource).OfType<Hl7.Fhir.Model.RiskAssessment>())
            {
                var identifier = resource.Identifier.SingleOrDefault(i => i.System == RiskAssessmentWriter.IdentifierSystem);
                if (identifier is not null && patients.Contains(identifier.Value!.Split(':')[0]))
                {
                    Assert.True(found.TryAdd(identifier.Value, resource), $"two RiskAssessments with identifier {identifier.Value}");
                }
            }

            page = await fhir.ContinueAsync(page, ct: Ct);
        }

        return found;
    }
}
