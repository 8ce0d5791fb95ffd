using System.ComponentModel.DataAnnotations;
using HealthRec.Clinical.Features;
using HealthRec.Clinical.Knowledge;
using HealthRec.Clinical.Terminology;
using HealthRec.Fhir.Knowledge;
using HealthRec.ML.Outcomes;
using Microsoft.Extensions.Options;

namespace HealthRec.Server.Models;

public sealed class KnowledgeOptions
{
    public const string Section = "Knowledge";

    /// <summary>The intervention catalog (a FHIR Bundle of ActivityDefinitions); relative to the content root.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Knowledge:CatalogPath must name the intervention catalog, e.g. data/knowledge/interventions.json")]
    public string CatalogPath { get; set; } = InterventionCatalogFiles.DefaultFile;

    /// <summary>The outcome definitions the catalog's items address.</summary>
    [Required(AllowEmptyStrings = false)]
    public string OutcomesPath { get; set; } = OutcomeFiles.DefaultFolder;
}

/// <summary>One catalog item as <c>GET /interventions</c> lists it.</summary>
public sealed record InterventionSummary(string Id, string Title, string Category, string Creates, string Code, string Indication,
    IReadOnlyList<string> Contraindications, IReadOnlyList<Evidence> Evidence);

public static class KnowledgeEndpoints
{
    public static WebApplicationBuilder AddKnowledge(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<KnowledgeOptions>().BindConfiguration(KnowledgeOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp =>
        {
            var root = sp.GetRequiredService<IHostEnvironment>().ContentRootPath;
            var knowledge = sp.GetRequiredService<IOptions<KnowledgeOptions>>().Value;
            var schema = sp.GetRequiredService<ClinicalSchema>();
            return LoadCatalog(Path.Combine(root, knowledge.CatalogPath), Path.Combine(root, knowledge.OutcomesPath), schema.Terminology, schema.Featurizer);
        });
        return builder;
    }

    /// <summary>
    /// The intervention catalog, each rule checked against the feature schema and the terminology and each outcome it
    /// names against the outcome definitions. Throws <see cref="CatalogException"/> or
    /// <see cref="Clinical.Outcomes.OutcomeDefinitionException"/> naming every problem.
    /// </summary>
    internal static InterventionCatalog LoadCatalog(string catalogFile, string outcomesPath, ClinicalTerminology terminology, Featurizer featurizer)
    {
        var outcomes = OutcomeFiles.Load(outcomesPath, terminology).Select(o => o.Id).ToHashSet(StringComparer.Ordinal);
        return InterventionCatalogFiles.Load(catalogFile, terminology, RuleVocabulary.Of(featurizer, terminology), outcomes);
    }

    public static WebApplication MapKnowledge(this WebApplication app)
    {
        // Validated before the server listens: a catalog with a problem stops start-up, each problem named.
        _ = app.Services.GetRequiredService<InterventionCatalog>();
        app.MapGet("/interventions", List).WithTags("Knowledge").WithName("ListInterventions")
            .WithSummary("The intervention catalog: what each suggestion would create, for whom, never for whom, and its evidence.");
        return app;
    }

    internal static Microsoft.AspNetCore.Http.HttpResults.Ok<InterventionSummary[]> List(InterventionCatalog catalog) =>
        TypedResults.Ok(catalog.Items.Select(i => new InterventionSummary(i.Id, i.Title, i.Category.ToString().ToLowerInvariant(), i.ResourceType,
            $"{i.CodeSystem}|{i.Code}", i.Indication.Reason, [.. i.Contraindications.Select(c => c.Reason)], i.Evidence)).ToArray());
}
