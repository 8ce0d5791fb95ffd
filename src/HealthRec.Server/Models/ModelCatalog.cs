using System.Collections.Immutable;
using System.ComponentModel.DataAnnotations;
using HealthRec.Clinical.Features;
using HealthRec.Fhir.Ingestion;
using HealthRec.ML.Registry;
using HealthRec.ML.Serving;
using Microsoft.Extensions.Options;

namespace HealthRec.Server.Models;

public sealed class ModelOptions
{
    public const string Section = "Models";

    /// <summary>The model registry folder (the default models are committed under <c>models/</c>); relative to the content root.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Models:Path must name the model registry folder, e.g. models")]
    public string Path { get; set; } = "models";

    /// <summary>Terminology folder the models' features are computed with.</summary>
    [Required(AllowEmptyStrings = false)]
    public string TerminologyPath { get; set; } = TerminologyFiles.DefaultFolder;

    /// <summary>Feature schema the models were trained on.</summary>
    [Required(AllowEmptyStrings = false)]
    public string FeatureSchemaPath { get; set; } = TerminologyFiles.DefaultSchema;
}

/// <summary>
/// The outcome models the server answers with: every current version in the registry, loaded at start. A reload
/// builds the new set aside and swaps it in one reference assignment, so a request sees the old set or the new one,
/// never a mix; the old predictors are disposed after in-flight requests have had time to finish.
/// </summary>
/// <summary>The terminology and the compiled feature schema the server's models and rules use, loaded once at start.</summary>
public sealed class ClinicalSchema(IOptions<ModelOptions> options, IHostEnvironment environment)
{
    private readonly Lazy<(Clinical.Terminology.ClinicalTerminology, Clinical.Features.Featurizer)> _loaded = new(() =>
    {
        var terminology = TerminologyFiles.Load(System.IO.Path.Combine(environment.ContentRootPath, options.Value.TerminologyPath));
        return (terminology, TerminologyFiles.LoadFeaturizer(System.IO.Path.Combine(environment.ContentRootPath, options.Value.FeatureSchemaPath), terminology));
    });

    public Clinical.Terminology.ClinicalTerminology Terminology => _loaded.Value.Item1;

    public Clinical.Features.Featurizer Featurizer => _loaded.Value.Item2;
}

public sealed partial class ModelCatalog(IOptions<ModelOptions> options, IHostEnvironment environment, ClinicalSchema schema, ILogger<ModelCatalog> logger) : IDisposable
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(30);
    private volatile ImmutableDictionary<string, OutcomePredictor> _predictors = ImmutableDictionary<string, OutcomePredictor>.Empty;

    public Featurizer? Featurizer { get; private set; }

    public IReadOnlyDictionary<string, OutcomePredictor> Predictors => _predictors;

    /// <summary>Loads (or reloads) every current model; a bundle that cannot be loaded is logged and left out.</summary>
    public void Reload()
    {
        var root = environment.ContentRootPath;
        var settings = options.Value;
        var registry = System.IO.Path.Combine(root, settings.Path);
        if (!ModelRegistry.Outcomes(registry).Any())
        {
            LogNoModels(registry);
            var empty = Interlocked.Exchange(ref _predictors, ImmutableDictionary<string, OutcomePredictor>.Empty);
            _ = Task.Delay(Grace).ContinueWith(_ => Dispose(empty), TaskScheduler.Default);
            return;
        }

        var terminology = schema.Terminology;
        var featurizer = schema.Featurizer;
        var loaded = ImmutableDictionary.CreateBuilder<string, OutcomePredictor>(StringComparer.Ordinal);
        foreach (var outcome in ModelRegistry.Outcomes(registry))
        {
            try
            {
                var predictor = OutcomePredictor.LoadCurrent(registry, outcome, featurizer, terminology);
                loaded[outcome] = predictor;
                LogLoaded(outcome, predictor.Manifest.Version, predictor.Manifest.Validation);
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or System.Text.Json.JsonException or ML.Training.TrainingException or InvalidOperationException)
            {
                LogNotLoaded(ex, outcome);
            }
        }

        Featurizer = featurizer;
        var previous = Interlocked.Exchange(ref _predictors, loaded.ToImmutable());
        if (!previous.IsEmpty)
        {
            _ = Task.Delay(Grace).ContinueWith(_ => Dispose(previous), TaskScheduler.Default);
        }
    }

    public void Dispose() => Dispose(_predictors);

    private static void Dispose(ImmutableDictionary<string, OutcomePredictor> predictors)
    {
        foreach (var predictor in predictors.Values)
        {
            predictor.Dispose();
        }
    }

    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Model {Outcome} {Version} loaded: {Validation}")]
    private partial void LogLoaded(string outcome, string version, string validation);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "No registered models in {Registry}: no estimates will be given")]
    private partial void LogNoModels(string registry);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "Model {Outcome} could not be loaded and is left out")]
    private partial void LogNotLoaded(Exception exception, string outcome);
}

/// <summary>One registered model as <c>GET /models</c> lists it.</summary>
public sealed record ModelSummary(string Outcome, string Title, string Version, string Kind, double? Threshold, string Validation,
    DateTimeOffset TrainedAt, bool TrainedOnSyntheticData);

public static class ModelEndpoints
{
    public static WebApplicationBuilder AddModels(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ModelOptions>().BindConfiguration(ModelOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<ClinicalSchema>();
        builder.Services.AddSingleton<ModelCatalog>();
        return builder;
    }

    public static WebApplication MapModels(this WebApplication app)
    {
        // Loaded before the server listens: the embedded default answers with real models from the first request.
        app.Services.GetRequiredService<ModelCatalog>().Reload();
        app.MapGet("/models", List).WithTags("Models").WithName("ListModels")
            .WithSummary("The outcome models this server uses: version, what each estimates and how it was validated.");
        return app;
    }

    internal static Microsoft.AspNetCore.Http.HttpResults.Ok<ModelSummary[]> List(ModelCatalog catalog) =>
        TypedResults.Ok(catalog.Predictors.Values.OrderBy(p => p.Definition.Id, StringComparer.Ordinal).Select(p => new ModelSummary(
            p.Definition.Id, p.Definition.Title, p.Manifest.Version, p.Definition.Kind.ToString().ToLowerInvariant(),
            p.Definition.Kind == Clinical.Outcomes.OutcomeKind.Binary ? p.Manifest.Threshold : null, p.Manifest.Validation,
            p.Manifest.TrainedAt, p.Manifest.Provenance.Synthetic)).ToArray());
}
