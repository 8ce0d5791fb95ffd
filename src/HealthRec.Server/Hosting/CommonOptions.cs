using System.CommandLine;
using HealthRec.Fhir.Ingestion;
using HealthRec.Fhir.Knowledge;
using HealthRec.ML.Outcomes;

namespace HealthRec.Server.Hosting;

/// <summary>
/// The options several verbs share, declared once so that each means and defaults the same everywhere: the input data,
/// the model registry, the feature schema, the terminology, the intervention catalog and the outcome definitions.
/// Each call makes a new option (an option belongs to one command).
/// </summary>
internal static class CommonOptions
{
    public const string DefaultInput = "data/sample/";

    /// <summary><c>--input</c>, repeatable; empty when not given (the verb decides: usually <see cref="DefaultInput"/>).</summary>
    public static Option<string[]> Inputs(string description =
        "A folder or file of NDJSON or Bundle JSON, or an http(s) FHIR base URL. Repeatable. Default: " + DefaultInput) =>
        new("--input") { Description = description, AllowMultipleArgumentsPerToken = false };

    public static Option<string> Models() => new("--models") { Description = "Model registry folder", DefaultValueFactory = _ => "models" };

    public static Option<string> FeatureSchema(string name = "--features") =>
        new(name) { Description = "Feature schema JSON", DefaultValueFactory = _ => TerminologyFiles.DefaultSchema };

    public static Option<string> Terminology() =>
        new("--terminology") { Description = "Terminology folder", DefaultValueFactory = _ => TerminologyFiles.DefaultFolder };

    public static Option<string> Catalog(string description = "Intervention catalog") =>
        new("--catalog") { Description = description, DefaultValueFactory = _ => InterventionCatalogFiles.DefaultFile };

    public static Option<string> OutcomeDefinitions(string description = "Outcome definition file or folder") =>
        new("--outcomes") { Description = description, DefaultValueFactory = _ => OutcomeFiles.DefaultFolder };
}
