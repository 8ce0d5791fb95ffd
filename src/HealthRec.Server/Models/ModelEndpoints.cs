using Microsoft.AspNetCore.Mvc;

namespace HealthRec.Server.Models;

/// <summary>
/// One outcome as <c>GET /models</c> lists it: the version that answers (a reference equation's id, or a model
/// version), and for an outcome with a reference equation, which one is the champion and the model waiting as challenger.
/// </summary>
public sealed record ModelSummary(string Outcome, string Title, string Version, string Kind, double? Threshold, string Validation,
    DateTimeOffset TrainedAt, bool TrainedOnSyntheticData)
{
    public string? Reference { get; init; }

    public string Champion { get; init; } = "model";

    public string? Challenger { get; init; }
}

public static class ModelEndpoints
{
    public static WebApplicationBuilder AddModels(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ModelOptions>().BindConfiguration(ModelOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<ClinicalSchema>();
        builder.Services.AddSingleton<ModelCatalog>();
        return builder;
    }

    /// <summary>
    /// A registry folder that does not exist yet is created as a copy of the shipped one, so that retraining and
    /// promotion write runtime state (new versions, <c>current</c>, locks) there and never into tracked files. An existing
    /// registry is left as it is: it holds this site's decisions. Several nodes may start at once on one shared registry:
    /// each copies into a staging folder of its own and the first to move it into place wins; the others drop theirs.
    /// </summary>
    internal static void SeedRegistry(ModelOptions options, string contentRoot)
    {
        var registry = System.IO.Path.GetFullPath(System.IO.Path.Combine(contentRoot, options.Path));
        if (Directory.Exists(registry))
        {
            return;
        }

        var seed = options.SeedPath is { Length: > 0 } path ? System.IO.Path.GetFullPath(System.IO.Path.Combine(contentRoot, path)) : null;
        var staging = $"{registry}.seeding-{Environment.ProcessId}-{Guid.NewGuid():N}";
        Directory.CreateDirectory(staging);
        try
        {
            if (seed is not null && Directory.Exists(seed))
            {
                foreach (var file in Directory.EnumerateFiles(seed, "*", SearchOption.AllDirectories))
                {
                    var target = System.IO.Path.Combine(staging, System.IO.Path.GetRelativePath(seed, file));
                    Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
                    File.Copy(file, target);
                }
            }

            // Whole or not at all: a copy cut short by a crash is never taken for a registry.
            Directory.Move(staging, registry);
        }
        catch (IOException) when (Directory.Exists(registry))
        {
            // Another node seeded the registry first: it is whole, and it is the one everyone uses.
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    public static WebApplication MapModels(this WebApplication app)
    {
        SeedRegistry(app.Services.GetRequiredService<IOptions<ModelOptions>>().Value, app.Environment.ContentRootPath);
        // Loaded before the server listens: the embedded default answers with real models from the first request.
        app.Services.GetRequiredService<ModelCatalog>().Reload();
        app.MapGet("/models", List).WithTags("Model cards").WithName("ListModels")
            .WithSummary("The outcome models this server uses: version, what each estimates and how it was validated.");
        app.MapGet("/models/risk-management", RiskManagement.GetAsync).WithTags("Model cards").WithName("RiskManagement")
            .WithSummary("Intervention risk management (HTI-1): validity, reliability, robustness, fairness, intelligibility, safety, security and privacy, each with the evidence held now (JSON; a page for a browser).");
        app.MapGet("/models/{outcome}/device", Device).WithTags("Model cards").WithName("ModelDevice")
            .WithSummary("The model version in use as a FHIR Device (HL7 AI Transparency): identifier, version, kind, validation, model card; labelled AIAST when a trained model answers.");
        app.MapGet("/models/{outcome}", ModelCard).WithTags("Model cards").WithName("ModelCard")
            .WithSummary("The model card of the version in use: what it estimates, how it was trained and validated, its limitations (Markdown; an HTML page for a browser).");
        return app;
    }

    /// <summary>The 404 for an outcome (or one of its models) that is not in use, saying where to look.</summary>
    internal static NotFound<ProblemDetails> NoSuchModel(string outcome, string? model = null, string? detail = null) =>
        TypedResults.NotFound(new ProblemDetails
        {
            Status = 404, Title = "No such model",
            Detail = detail ?? $"No model '{outcome}'{(model is null ? "" : $" ({model})")} is in use; see GET /models.",
        });

    internal static Results<ContentHttpResult, NotFound<ProblemDetails>> Device(HttpContext http, string outcome, ModelCatalog catalog,
        IOptions<CdsHooks.CdsHooksOptions> cdsOptions)
    {
        // On the public address, as card links are (CdsHooks:PublicBaseUrl behind a proxy).
        var baseUrl = CdsHooks.CdsHooksEndpoints.BaseUrl(http, cdsOptions.Value);
        var device = catalog.Predictors.TryGetValue(outcome, out var predictor) ? ModelDevice.Of(predictor, baseUrl)
            : outcome == HybridRanker.Folder && catalog.Current.Ranker is { } ranker ? ModelDevice.Of(ranker.Manifest, baseUrl)
            : null;
        return device is null
            ? NoSuchModel(outcome)
            : TypedResults.Text(Fhir.FhirJson.Serialize(device), "application/fhir+json; charset=utf-8");
    }

    internal static Results<ContentHttpResult, RazorComponentResult<Staff.ModelCardPage>, NotFound<ProblemDetails>> ModelCard(HttpContext http, string outcome,
        ModelCatalog catalog, IOptions<ModelOptions> options, IHostEnvironment environment)
    {
        // A browser (Accept: text/html, not asking for Markdown first) gets the page; every other client the Markdown.
        var html = http.PrefersHtml("text/markdown");
        Results<ContentHttpResult, RazorComponentResult<Staff.ModelCardPage>, NotFound<ProblemDetails>> Card(string markdown) => html
            ? new RazorComponentResult<Staff.ModelCardPage>(new { Outcome = outcome, Markdown = markdown })
            : TypedResults.Text(markdown, "text/markdown; charset=utf-8");

        var models = catalog.Current;
        var folder = models.Predictors.TryGetValue(outcome, out var predictor)
            ? ModelRegistry.CurrentFolder(System.IO.Path.Combine(environment.ContentRootPath, options.Value.Path), outcome)
            : outcome == HybridRanker.Folder && models.Ranker is not null
                ? ModelRegistry.CurrentFolder(System.IO.Path.Combine(environment.ContentRootPath, options.Value.Path), outcome)
                : null;
        if (predictor is { ReferenceAnswers: true })
        {
            return Card(ReferenceCard.Markdown(predictor));
        }

        var card = folder is null ? null : System.IO.Path.Combine(folder, "model-card.md");
        return card is not null && File.Exists(card)
            ? Card(File.ReadAllText(card))
            : NoSuchModel(outcome);
    }

    internal static Microsoft.AspNetCore.Http.HttpResults.Ok<ModelSummary[]> List(ModelCatalog catalog) =>
        TypedResults.Ok(catalog.Predictors.Values.OrderBy(p => p.Definition.Id, StringComparer.Ordinal).Select(p => new ModelSummary(
            p.Definition.Id, p.Definition.Title, p.AnsweringVersion, p.Definition.Kind.ToString().ToLowerInvariant(),
            p.Definition.Kind != Clinical.Outcomes.OutcomeKind.Binary ? null : p.ReferenceAnswers ? p.ReferenceThreshold : p.Manifest.Threshold,
            p.ReferenceAnswers ? $"{p.Reference!.Name}: {p.Reference.Validation}" : p.Manifest.Validation,
            p.Manifest.TrainedAt, !p.ReferenceAnswers && p.Manifest.Provenance.Synthetic)
        {
            Reference = p.Reference?.Id,
            Champion = p.ReferenceAnswers ? "reference" : "model",
            Challenger = p.ReferenceAnswers ? p.Manifest.Version : null,
        }).ToArray());
}
