namespace HealthRec.Server.Models;

/// <summary>
/// <c>healthrec recommend</c>: the ranked suggestions for one patient, each with the benefit expected (an estimate),
/// the reasons, cautions, evidence and the FHIR proposal it would create; and what the safety filters left out.
/// </summary>
internal static class RecommendCommand
{
    public static Command Create()
    {
        var patient = new Option<string>("--patient") { Description = "The patient's id", Required = true };
        var top = new Option<int>("--top") { Description = "How many suggestions", DefaultValueFactory = _ => 5 };
        var json = new Option<bool>("--json") { Description = "Print JSON, with the FHIR resource each suggestion would create" };
        var indexDate = new Option<string?>("--index-date") { Description = "YYYY-MM-DD; default: the patient's last recorded activity" };
        var catalog = CommonOptions.Catalog("Intervention catalog");
        var output = new Option<string?>("--out") { Description = "Write to this file instead of standard output" };
        var command = new Command("recommend", "Recommend interventions for one patient: ranked, safe, explained, with evidence.")
        {
            patient, top, json, indexDate, catalog, output,
        };
        var data = ModelDataOptions.AddTo(command, "Outcome definitions");
        command.SetAction((result, cancellationToken) => RunAsync(data.Read(result), result.GetValue(patient)!, result.GetValue(top), result.GetValue(json),
            result.GetValue(indexDate), result.GetValue(catalog)!, result.GetValue(output), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(ModelData data, string patientId, int top, bool asJson, string? indexDateText, string catalogFile,
        string? outputFile, CancellationToken cancellationToken)
    {
        var (inputs, modelsFolder, _, schemaFile, terminologyFolder) = data;
        var outcomesPath = data.OutcomesPath;
        if (!Directory.Exists(modelsFolder))
        {
            // Not a quiet fall-back to content-only suggestions: the caller named models that are not there.
            await Console.Error.WriteLineAsync($"--models '{modelsFolder}' is not a folder (the model registry, e.g. models).");
            return 2;
        }

        var (dateOk, indexAt) = await InputSources.IndexDateAsync(indexDateText);
        if (!dateOk || top < 1 || await InputSources.SchemaAsync(terminologyFolder, schemaFile) is not var (terms, featurizer))
        {
            if (top < 1)
            {
                await Console.Error.WriteLineAsync("--top must be at least 1.");
            }

            return 2;
        }

        InterventionCatalog interventions;
        try
        {
            // As the server does: a site's own models with the shipped catalog give their estimates, and say why there are no suggestions.
            interventions = KnowledgeEndpoints.LoadCatalogOrOff(catalogFile, outcomesPath, terms, featurizer, safetyFile: null,
                ex => $"{KnowledgeEndpoints.WrittenForOtherInputs(catalogFile, "this run's")} ({ex.Lacking}), so suggestions are off");
        }
        catch (Exception ex) when (ex is CatalogException or Clinical.Outcomes.OutcomeDefinitionException)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 2;
        }

        if (await InputSources.ReadForCommandAsync(inputs, terms, cancellationToken) is not var (records, _))
        {
            return 2;
        }

        var record = records.FirstOrDefault(r => string.Equals(r.PatientId, patientId, StringComparison.Ordinal));
        if (record is null || (indexAt ?? record.LastActivity) is not { } at)
        {
            await Console.Error.WriteLineAsync(record is null ? $"--patient '{patientId}' is not in the input." : $"Patient '{patientId}' has no dated data.");
            return 2;
        }

        var predictors = OutcomePredictor.LoadCurrent(modelsFolder, featurizer, terms);
        // The hybrid ranker when one is registered (it orders the medicines and says what followed in similar patients).
        using var hybrid = HybridRanker.LoadCurrent(modelsFolder);
        try
        {
            var set = new Recommender(interventions, featurizer, predictors, hybrid).Recommend(record, at, top);
            var rendered = asJson ? Json(set, Estimates(predictors.Values, record, at), hybrid?.Manifest.Version) : Text(set);
            if (outputFile is null)
            {
                await Console.Out.WriteAsync(rendered);
            }
            else
            {
                await File.WriteAllTextAsync(outputFile, rendered, cancellationToken);
            }

            return 0;
        }
        finally
        {
            foreach (var predictor in predictors.Values)
            {
                predictor.Dispose();
            }
        }
    }

    private static string Text(RecommendationSet set)
    {
        var ci = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(ci, $"Suggestions for patient {set.PatientId} at {set.At:yyyy-MM-dd} (HealthRec; every benefit is an estimate, its source named).");
        text.AppendLine(set.NotForPatient is { } notFor ? $"{char.ToUpperInvariant(notFor[0])}{notFor[1..]}." : set.OrderedBy);
        foreach (var r in set.Recommendations)
        {
            var i = r.Intervention;
            text.AppendLine();
            text.AppendLine(ci, $"{r.Rank}. {i.Title}  [{i.Category.ToString().ToLowerInvariant()}, score {r.Score:0.000}{(r.RankerScore is { } rs ? string.Create(ci, $", ranker {rs:0.000}") : "")}]");
            if (r.Benefit is { } benefit)
            {
                text.AppendLine(ci, $"   expected: {benefit.Text}");
            }

            foreach (var line in r.Support())
            {
                text.AppendLine(line switch
                {
                    { Source: { } e } => $"   evidence: {e.Label} ({e.Strength}): {e.Recommendation}. {e.Url}",
                    { Kind: SupportKind.Caution } => $"   caution: {line.Text}",
                    _ => $"   why: {line.Text}",
                });
            }

            text.AppendLine(ci, $"   would create: {i.ResourceType} (intent=proposal) {i.Display}{(i.Dosage is null ? "" : $", {i.Dosage}")}");
        }

        if (set.Excluded.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("Left out: " + string.Join("; ", set.Excluded.Select(e => $"{e.InterventionId} ({e.Reason})")));
        }

        return text.ToString();
    }

    /// <summary>
    /// Each outcome's estimate for the patient: which model or equation answered, the number, what it lacks, and the
    /// reference equation's figure beside it (or why it gives none) and the equations alongside it — what a card would
    /// show, as data.
    /// </summary>
    private static JsonArray Estimates(IEnumerable<OutcomePredictor> predictors, Clinical.Records.PatientRecord record, DateTimeOffset at)
    {
        JsonObject? Reference(Clinical.Risk.ReferenceEstimate? reference) => reference is null ? null : new JsonObject
        {
            ["model"] = reference.Model.Id,
            ["name"] = reference.Model.Name,
            ["estimate"] = reference.Estimate is { } r ? Math.Round(r, 4) : null,
            ["notGiven"] = new JsonArray([.. reference.NotGiven.Select(x => (JsonNode?)x)]),
            ["lacks"] = new JsonArray([.. reference.Lacks.Select(x => (JsonNode?)x)]),
        };

        var estimates = new JsonArray();
        foreach (var predictor in predictors.OrderBy(p => p.Definition.Id, StringComparer.Ordinal))
        {
            if (predictor.Predict(record, at) is { } predicted)
            {
                var p = predictor.WithAlongside(predicted, record, at);
                estimates.Add(new JsonObject
                {
                    ["outcome"] = p.Outcome,
                    ["answeredBy"] = p.ByReference ? "equation" : "model",
                    ["model"] = p.ModelVersion,
                    ["estimate"] = Math.Round(p.Estimate, 4),
                    ["band"] = p.Band,
                    ["kind"] = "estimate",
                    ["validation"] = p.Validation,
                    ["trainedOnSyntheticData"] = p.Synthetic,
                    ["reasons"] = new JsonArray([.. p.Factors.Select(f => (JsonNode?)$"{f.Text} ({f.Direction})")]),
                    ["lacks"] = new JsonArray([.. p.Lacks.Select(x => (JsonNode?)x)]),
                    ["asOf"] = p.AsOf?.UtcDateTime,
                    ["reference"] = p.ByReference ? null : Reference(p.Reference),
                    ["alongside"] = new JsonArray([.. p.Alongside.Select(a => (JsonNode?)Reference(a))]),
                });
            }
            else if (predictor.NotEstimated(record, at) is { } none)
            {
                estimates.Add(new JsonObject
                {
                    ["outcome"] = predictor.Definition.Id,
                    ["answeredBy"] = "equation",
                    ["model"] = none.Model.Id,
                    ["estimate"] = null,
                    ["notGiven"] = new JsonArray([.. none.NotGiven.Select(x => (JsonNode?)x)]),
                    ["lacks"] = new JsonArray([.. none.Lacks.Select(x => (JsonNode?)x)]),
                });
            }
        }

        return estimates;
    }

    private static string Json(RecommendationSet set, JsonArray estimates, string? rankerVersion)
    {
        var recommendations = new JsonArray();
        foreach (var r in set.Recommendations)
        {
            var proposal = ProposalBuilder.Build(r.Intervention, set.PatientId, r.Reasons, r.Benefit?.Text, CdsHooks.ModelInfluence.Of(r, rankerVersion), set.At);
            recommendations.Add(new JsonObject
            {
                ["rank"] = r.Rank,
                ["intervention"] = r.Intervention.Id,
                ["title"] = r.Intervention.Title,
                ["category"] = r.Intervention.Category.ToString().ToLowerInvariant(),
                ["score"] = Math.Round(r.Score, 6),
                ["rankerScore"] = r.RankerScore is { } rs ? Math.Round(rs, 6) : null,
                ["similarPatients"] = r.Neighbours is { } n ? new JsonObject
                {
                    ["neighbours"] = n.Neighbours, ["started"] = n.Started, ["helped"] = n.Helped,
                    ["meanResponseChange"] = double.IsNaN(n.MeanChange) ? null : Math.Round(n.MeanChange, 4),
                } : null,
                ["expectedBenefit"] = r.Benefit is { } b ? new JsonObject
                {
                    ["text"] = b.Text, ["outcome"] = b.Outcome, ["modelVersion"] = b.ModelVersion,
                    ["riskNow"] = Math.Round(b.RiskNow, 4), ["riskWith"] = Math.Round(b.RiskWith, 4), ["kind"] = "estimate",
                } : null,
                ["reasons"] = new JsonArray([.. r.Reasons.Select(x => (JsonNode?)x)]),
                ["cautions"] = new JsonArray([.. r.Cautions.Select(x => (JsonNode?)x)]),
                ["evidence"] = JsonSerializer.SerializeToNode(r.Evidence, JsonOptions),
                ["proposal"] = JsonNode.Parse(FhirJson.Serialize(proposal)),
            });
        }

        var root = new JsonObject
        {
            ["patient"] = set.PatientId,
            ["at"] = set.At.UtcDateTime,
            ["ranking"] = set.Ranking,
            ["notForPatient"] = set.NotForPatient,
            ["estimates"] = estimates,
            ["recommendations"] = recommendations,
            ["excluded"] = JsonSerializer.SerializeToNode(set.Excluded, JsonOptions),
        };
        return root.ToJsonString(JsonOptions) + Environment.NewLine;
    }

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
