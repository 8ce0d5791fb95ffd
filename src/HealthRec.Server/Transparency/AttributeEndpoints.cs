using Microsoft.AspNetCore.Mvc;

namespace HealthRec.Server.Transparency;

/// <summary>
/// The HTI-1 source attributes, public like the model cards: each model's 31 predictive attributes, the recommender's
/// and each catalog intervention's 13 evidence-based ones. JSON by default, a page for a browser.
/// </summary>
public static class AttributeEndpoints
{
    public static WebApplicationBuilder AddSourceAttributes(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<TransparencyOptions>().BindConfiguration(TransparencyOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<SourceAttributeSets>();
        builder.Services.AddHostedService<SourceAttributeRefresher>();
        return builder;
    }

    public static WebApplication MapSourceAttributes(this WebApplication app)
    {
        app.MapGet("/models/{outcome}/attributes", ForModel).WithTags("Model cards").WithName("ModelSourceAttributes")
            .WithSummary("The 31 HTI-1 predictive source attributes of a model (default: the one that answers; ?model= a baseline or the equation), measured ones with run, window, interval and staleness (JSON; a page for a browser).");
        app.MapGet("/models/{outcome}/chai-model-card", ChaiCard).WithTags("Model cards").WithName("ChaiModelCard")
            .WithSummary("The CHAI Applied Model Card (schema v0.2, XML) of a model (default: the one that answers; ?model= a baseline or the equation), written from its source attributes and figures.");
        app.MapGet("/models/{outcome}/tripod-ai", Tripod).WithTags("Model cards").WithName("TripodAiChecklist")
            .WithSummary("The TRIPOD+AI checklist of a model as the server fills it from its training and newest evaluation: each item with its value and source, or left to the authors (JSON).");
        app.MapGet("/recommender/attributes", (HttpContext http, SourceAttributeSets sets) => Show(http, sets.Recommender(), []))
            .WithTags("Knowledge").WithName("RecommenderSourceAttributes")
            .WithSummary("The 13 HTI-1 evidence-based source attributes of the recommender (JSON; a page for a browser).");
        app.MapGet("/interventions/{id}/attributes", ForIntervention).WithTags("Knowledge").WithName("InterventionSourceAttributes")
            .WithSummary("The 13 HTI-1 evidence-based source attributes of one catalog intervention (JSON; a page for a browser).");
        return app;
    }

    internal static IResult ForModel(HttpContext http, string outcome, string? model, SourceAttributeSets sets, Models.ModelCatalog catalog)
    {
        if (!catalog.Predictors.TryGetValue(outcome, out var predictor))
        {
            return Models.ModelEndpoints.NoSuchModel(outcome);
        }

        var models = SourceAttributeSets.ModelsOf(predictor);
        return sets.ForModel(outcome, model) is { } set ? Show(http, set, models)
            : Models.ModelEndpoints.NoSuchModel(outcome, model, $"'{model}' is not a model of {outcome}; it has: {string.Join(", ", models)}.");
    }

    internal static IResult ChaiCard(HttpContext http, string outcome, string? model, SourceAttributeSets sets, Microsoft.Extensions.Options.IOptions<TransparencyOptions> options,
        Microsoft.Extensions.Options.IOptions<CdsHooks.CdsHooksOptions> cds)
    {
        if (sets.CardInputs(outcome, model) is not var (subject, set))
        {
            return Models.ModelEndpoints.NoSuchModel(outcome, model);
        }

        var attributes = new Uri(CdsHooks.CdsHooksEndpoints.BaseUrl(http, cds.Value), $"models/{Uri.EscapeDataString(outcome)}/attributes{(model is null ? "" : $"?model={Uri.EscapeDataString(model)}")}").AbsoluteUri;
        var xml = ChaiModelCard.Build(subject, set, options.Value, attributes);
        return TypedResults.Text(xml.Declaration + "\n" + xml.Root, "application/xml; charset=utf-8");
    }

    internal static IResult Tripod(string outcome, string? model, SourceAttributeSets sets)
    {
        if (sets.CardInputs(outcome, model) is not var (subject, set))
        {
            return Models.ModelEndpoints.NoSuchModel(outcome, model);
        }

        var items = TripodAiChecklist.Build(subject, set);
        return TypedResults.Ok(new
        {
            set.Subject, set.Version, Checklist = "TRIPOD+AI (Collins et al., BMJ 2024;385:e078378)", AttributesDigest = set.Digest,
            Filled = items.Count(i => i.Value is not null), ServerKnowable = items.Count(i => i.ServerKnows), Total = items.Count, Items = items,
        });
    }

    internal static IResult ForIntervention(HttpContext http, string id, SourceAttributeSets sets) =>
        sets.Intervention(id) is { } set ? Show(http, set, [])
            : TypedResults.NotFound(new ProblemDetails { Status = 404, Title = "No such intervention", Detail = $"No intervention '{id}' is in the catalog; see GET /interventions." });

    private static IResult Show(HttpContext http, SourceAttributeSet set, IReadOnlyList<string> models) => http.PrefersHtml("application/json")
        ? new RazorComponentResult<Staff.SourceAttributesPage>(new { Set = set, Models = models })
        : TypedResults.Ok(new
        {
            set.Subject, set.Kind, set.Version, set.Regulation, set.ComputedAt, set.Digest, Models = models.Count > 0 ? models : null,
            Count = set.Attributes.Count, set.Attributes,
        });
}
