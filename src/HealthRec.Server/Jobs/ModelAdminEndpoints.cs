namespace HealthRec.Server.Jobs;

/// <summary>One registered version of an outcome: when trained, how validated, whether it serves, what the gate said.</summary>
public sealed record ModelVersionView(string Version, DateTimeOffset TrainedAt, string Validation, bool Champion, bool TrainedOnSyntheticData,
    bool HasTrainingReference, string? Gate);

public sealed record ModelDecisionView(string Challenger, string? Champion, bool Promoted, int TestExamples, string Summary, JsonNode? Checks,
    DateTimeOffset DecidedAt, string Node);

public sealed record ModelEvaluationView(string EvaluationId, string Version, DateTimeOffset EvaluatedAt, string Source, int Examples, JsonNode? Metrics,
    string DriftFlag, IReadOnlyList<FeatureShift> Drift);

/// <summary>An outcome's lifecycle: every version, the champion, the gate's decisions and the evaluation history.</summary>
public sealed record ModelAdminView(string Outcome, string? Champion, IReadOnlyList<ModelVersionView> Versions, IReadOnlyList<ModelDecisionView> Decisions,
    IReadOnlyList<ModelEvaluationView> Evaluations);

/// <summary>One line per outcome for <c>GET /admin/models</c>.</summary>
public sealed record ModelAdminSummary(string Outcome, string? Champion, int Versions, string? LatestDecision, DateTimeOffset? LastEvaluatedAt,
    string? LastDriftFlag);

/// <summary><c>GET /admin/models[/{outcome}]</c>: what operators and data scientists check after a retrain or an evaluation (staff role Admin).</summary>
internal static class ModelAdminEndpoints
{
    public static void Map(WebApplication app)
    {
        var admin = app.MapGroup("/admin/models").WithTags("Model lifecycle");
        admin.MapGet("", ListAsync).WithName("AdminModels")
            .WithSummary("Every outcome: its champion, how many versions, the latest gate decision and drift flag (staff role Admin).");
        admin.MapGet("/{outcome}", OneAsync).WithName("AdminModel")
            .WithSummary("One outcome: every version, the champion, the gate decisions with their numbers and the metrics and drift history (staff role Admin).");
    }

    internal static async Task<Results<Ok<ModelAdminSummary[]>, ProblemHttpResult>> ListAsync(HttpContext http, ModelLifecycleStore store,
        IOptions<ModelOptions> options, IHostEnvironment environment, ModelCatalog catalog)
    {
        var registry = Path.Combine(environment.ContentRootPath, options.Value.Path);
        var decisions = await store.DecisionsAsync(null, 1000, http.RequestAborted);
        var evaluations = await store.EvaluationsAsync(null, 1000, http.RequestAborted);
        return TypedResults.Ok(ModelRegistry.Outcomes(registry).Select(outcome =>
        {
            var versions = Versions(registry, outcome, catalog);
            var evaluation = evaluations.FirstOrDefault(e => e.Outcome == outcome);
            return new ModelAdminSummary(outcome, Champion(outcome, versions, catalog), versions.Count,
                decisions.FirstOrDefault(d => d.Outcome == outcome)?.Summary ?? versions.LastOrDefault(v => v.Gate is not null)?.Gate,
                evaluation?.EvaluatedAt, evaluation?.DriftFlag);
        }).ToArray());
    }

    internal static async Task<Results<Ok<ModelAdminView>, ProblemHttpResult>> OneAsync(HttpContext http, string outcome, ModelLifecycleStore store,
        IOptions<ModelOptions> options, IHostEnvironment environment, ModelCatalog catalog)
    {
        var registry = Path.Combine(environment.ContentRootPath, options.Value.Path);
        if (!ModelRegistry.Outcomes(registry).Contains(outcome, StringComparer.Ordinal))
        {
            return TypedResults.Problem(statusCode: 404, title: "No such model", detail: $"No outcome '{outcome}' is registered; see GET /admin/models.");
        }

        var versions = Versions(registry, outcome, catalog);
        var decisions = await store.DecisionsAsync(outcome, 100, http.RequestAborted);
        var evaluations = await store.EvaluationsAsync(outcome, 100, http.RequestAborted);
        return TypedResults.Ok(new ModelAdminView(outcome, Champion(outcome, versions, catalog), versions,
            [.. decisions.Select(d => new ModelDecisionView(d.Challenger, d.Champion, d.Promoted, d.TestExamples, d.Summary, JsonNode.Parse(d.ChecksJson), d.DecidedAt, d.Node))],
            [.. evaluations.Select(e => new ModelEvaluationView(e.EvaluationId, e.Version, e.EvaluatedAt, e.Source, e.Examples, JsonNode.Parse(e.MetricsJson), e.DriftFlag,
                JsonSerializer.Deserialize<List<FeatureShift>>(e.DriftJson, ModelRegistry.Json) ?? []))]));
    }

    // The champion that answers: a reference equation's id where it does (no model promoted over it), else the current version.
    private static string? Champion(string outcome, List<ModelVersionView> versions, ModelCatalog catalog) =>
        catalog.Current.Predictors.TryGetValue(outcome, out var predictor) && predictor.ReferenceAnswers
            ? predictor.AnsweringVersion
            : versions.FirstOrDefault(v => v.Champion)?.Version;

    // Every version folder with a manifest, oldest first; the gate's summary where it judged the version. The current
    // version is the champion unless a reference equation answers in its place.
    private static List<ModelVersionView> Versions(string registry, string outcome, ModelCatalog catalog)
    {
        var entry = Path.Combine(registry, outcome);
        var referenceAnswers = catalog.Current.Predictors.TryGetValue(outcome, out var predictor) && predictor.ReferenceAnswers;
        var current = referenceAnswers ? null : ModelRegistry.CurrentVersion(registry, outcome);
        var versions = new List<ModelVersionView>();
        foreach (var folder in Directory.GetDirectories(entry).Where(d => File.Exists(Path.Combine(d, ModelRegistry.ManifestFile)))
            .OrderBy(d => int.TryParse(Path.GetFileName(d).TrimStart('v'), out var k) ? k : int.MaxValue))
        {
            BundleManifest? manifest;
            try
            {
                manifest = ModelRegistry.ReadManifest(folder);
            }
            catch (JsonException)
            {
                continue;
            }

            if (manifest is null)
            {
                continue;
            }

            var gate = PromotionGate.Load(folder)?.Summary;
            versions.Add(new ModelVersionView(manifest.Version, manifest.TrainedAt, manifest.Validation, manifest.Version == current,
                manifest.Provenance.Synthetic, File.Exists(Path.Combine(folder, FeatureReference.FileName)), gate));
        }

        return versions;
    }
}
