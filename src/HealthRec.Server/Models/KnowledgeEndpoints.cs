namespace HealthRec.Server.Models;

public sealed class KnowledgeOptions
{
    public const string Section = "Knowledge";

    /// <summary>The intervention catalog (a FHIR Bundle of ActivityDefinitions); relative to the content root.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Knowledge:CatalogPath must name the intervention catalog, e.g. data/knowledge/interventions.json")]
    public string CatalogPath { get; set; } = InterventionCatalogFiles.DefaultFile;

    /// <summary>
    /// The medication-safety knowledge base every draft order and suggested medicine is checked against (its JSON Schema
    /// beside it); relative to the content root. Empty: <c>medication-safety.json</c> beside the catalog.
    /// </summary>
    public string? MedicationSafetyPath { get; set; }

    /// <summary>The outcome definitions the catalog's items address.</summary>
    [Required(AllowEmptyStrings = false)]
    public string OutcomesPath { get; set; } = OutcomeFiles.DefaultFolder;
}

/// <summary>One medication-safety rule as <c>GET /medication-safety</c> lists it: what it is about, what it needs, and its evidence.</summary>
public sealed record SafetyRuleSummary(string Id, string Kind, IReadOnlyList<string> Classes, IReadOnlyList<string> Ingredients, string Severity, string Text,
    IReadOnlyList<string> Inputs, int? MaxAgeDays, IReadOnlyList<EvidenceSource> Evidence);

/// <summary>The medication-safety knowledge base as <c>GET /medication-safety</c> lists it.</summary>
public sealed record MedicationSafetySummary(string Version, IReadOnlyList<SafetyRuleSummary> Rules, IReadOnlyList<string> DuplicateClasses,
    IReadOnlyList<string> AllergyClasses);

/// <summary>One catalog item as <c>GET /interventions</c> lists it.</summary>
public sealed record InterventionSummary(string Id, string Title, string Category, string Creates, string Code, string Indication,
    IReadOnlyList<string> Contraindications, IReadOnlyList<Evidence> Evidence);

public static partial class KnowledgeEndpoints
{
    public static WebApplicationBuilder AddKnowledge(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<KnowledgeOptions>().BindConfiguration(KnowledgeOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp =>
        {
            var root = sp.GetRequiredService<IHostEnvironment>().ContentRootPath;
            var knowledge = sp.GetRequiredService<IOptions<KnowledgeOptions>>().Value;
            var schema = sp.GetRequiredService<ClinicalSchema>();
            var catalogFile = Path.Combine(root, knowledge.CatalogPath);
            var safetyFile = knowledge.MedicationSafetyPath is { Length: > 0 } safety ? Path.Combine(root, safety) : null;
            // A site's own models (its feature schema and outcomes) with the shipped catalog, which speaks of HbA1c,
            // blood pressure and the default outcomes: the server serves the models and checks draft orders, and says
            // on every recommendations card that it makes no suggestions, and why.
            return LoadCatalogOrOff(catalogFile, Path.Combine(root, knowledge.OutcomesPath), schema.Terminology, schema.Featurizer, safetyFile, ex =>
            {
                SuggestionsOff(sp.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(KnowledgeEndpoints)), ex.Message);
                return $"{WrittenForOtherInputs(knowledge.CatalogPath, "this server's")}, so suggestions are off; the server log lists each problem";
            });
        });
        builder.Services.AddSingleton(sp => sp.GetRequiredService<InterventionCatalog>().Safety!);
        return builder;
    }

    /// <summary>
    /// The intervention catalog, each rule checked against the feature schema and the terminology and each outcome it
    /// names against the outcome definitions, with the medication-safety knowledge base its medicines are checked against
    /// (<paramref name="safetyFile"/>, by default <c>medication-safety.json</c> beside the catalog). Throws
    /// <see cref="CatalogException"/> or <see cref="Clinical.Outcomes.OutcomeDefinitionException"/> naming every problem.
    /// </summary>
    internal static InterventionCatalog LoadCatalog(string catalogFile, string outcomesPath, ClinicalTerminology terminology, Featurizer featurizer,
        string? safetyFile = null)
    {
        var outcomes = OutcomeFiles.Load(outcomesPath, terminology).Select(o => o.Id).ToHashSet(StringComparer.Ordinal);
        return InterventionCatalogFiles.Load(catalogFile, terminology, RuleVocabulary.Of(featurizer, terminology), outcomes)
            .WithSafety(new MedicationSafety(LoadSafety(catalogFile, safetyFile, terminology), terminology));
    }

    /// <summary>
    /// <see cref="LoadCatalog"/>, except that a catalog written for other features or outcomes than these (a site's own
    /// schema and outcomes with the shipped catalog) is no error: its suggestions are off, <paramref name="why"/> says
    /// so, and the medication-safety knowledge base still checks draft orders.
    /// </summary>
    internal static InterventionCatalog LoadCatalogOrOff(string catalogFile, string outcomesPath, ClinicalTerminology terminology, Featurizer featurizer,
        string? safetyFile, Func<CatalogException, string> why)
    {
        try
        {
            return LoadCatalog(catalogFile, outcomesPath, terminology, featurizer, safetyFile);
        }
        catch (CatalogException ex) when (ex.WrittenForOtherInputs)
        {
            return InterventionCatalog.Disabled(why(ex), new MedicationSafety(LoadSafety(catalogFile, safetyFile, terminology), terminology));
        }
    }

    /// <summary>Why a catalog cannot serve a site's own models: <paramref name="whose"/> is "this server's" or "this run's".</summary>
    internal static string WrittenForOtherInputs(string catalog, string whose) =>
        $"the intervention catalog ({catalog}) names features or outcomes {whose} feature schema and outcome definitions do not have";

    [LoggerMessage(EventId = 7100, Level = LogLevel.Warning, Message = "Suggestions are off: {Problems}")]
    private static partial void SuggestionsOff(ILogger logger, string problems);

    private static MedicationKnowledge LoadSafety(string catalogFile, string? safetyFile, ClinicalTerminology terminology) =>
        MedicationSafetyFiles.Load(safetyFile ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(catalogFile))!, "medication-safety.json"), terminology);

    public static WebApplication MapKnowledge(this WebApplication app)
    {
        // Validated before the server listens: a catalog with a problem stops start-up, each problem named.
        _ = app.Services.GetRequiredService<InterventionCatalog>();
        app.MapGet("/interventions", List).WithTags("Knowledge").WithName("ListInterventions")
            .WithSummary("The intervention catalog: what each suggestion would create, for whom, never for whom, and its evidence.");
        app.MapGet("/medication-safety", ListSafety).WithTags("Knowledge").WithName("ListMedicationSafetyRules")
            .WithSummary("The medication-safety rules every draft order and suggested medicine is checked against: what each is about, the inputs it needs, how old they may be, and its evidence.");
        return app;
    }

    internal static Microsoft.AspNetCore.Http.HttpResults.Ok<MedicationSafetySummary> ListSafety(MedicationSafety safety) =>
        TypedResults.Ok(new MedicationSafetySummary(
            safety.Knowledge.Version,
            [.. safety.Knowledge.Rules.Select(r => new SafetyRuleSummary(r.Id, r.Kind.ToString().ToLowerInvariant(),
                [.. r.Drugs.Classes, .. r.With.SelectMany(w => w.Classes)], [.. r.Drugs.Ingredients, .. r.With.SelectMany(w => w.Ingredients)],
                r.Severity.ToString().ToLowerInvariant(), r.Text, [.. r.Inputs.Select(i => i.ToString().ToLowerInvariant()), "allergies"],
                r.MaxAgeDays > 0 ? r.MaxAgeDays : null, r.Evidence))],
            [.. safety.Knowledge.DuplicateClasses.Order(StringComparer.Ordinal)],
            [.. safety.Knowledge.AllergyClasses.Select(a => a.Class)]));

    internal static Microsoft.AspNetCore.Http.HttpResults.Ok<InterventionSummary[]> List(InterventionCatalog catalog) =>
        TypedResults.Ok(catalog.Items.Select(i => new InterventionSummary(i.Id, i.Title, i.Category.ToString().ToLowerInvariant(), i.ResourceType,
            $"{i.CodeSystem}|{i.Code}", i.Indication.Reason, [.. i.Prevents.Select(g => $"already has {ClinicalWords.Group(g)}, which it is meant to prevent"), .. i.Contraindications.Select(c => c.Reason)],
            i.Evidence)).ToArray());
}
