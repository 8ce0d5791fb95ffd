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

/// <summary>
/// The data a model verb reads and the registry it works on, as one group: <c>--input</c> (default
/// <see cref="CommonOptions.DefaultInput"/> unless the verb requires it), <c>--models</c>, <c>--outcomes</c>,
/// <c>--features</c> and <c>--terminology</c>.
/// </summary>
internal sealed class ModelDataOptions
{
    private readonly Option<string[]> inputs;
    private readonly Option<string> models = CommonOptions.Models();
    private readonly Option<string>? outcomes;
    private readonly Option<string> features = CommonOptions.FeatureSchema();
    private readonly Option<string> terminology = CommonOptions.Terminology();

    private ModelDataOptions(Option<string[]> inputs, string? outcomesDescription)
    {
        this.inputs = inputs;
        outcomes = outcomesDescription is null ? null : CommonOptions.OutcomeDefinitions(outcomesDescription);
    }

    /// <summary>
    /// Adds the group's options to <paramref name="command"/>: <paramref name="inputs"/> replaces the usual <c>--input</c>;
    /// <c>--outcomes</c> only where <paramref name="outcomesDescription"/> is given.
    /// </summary>
    public static ModelDataOptions AddTo(Command command, string? outcomesDescription = "Outcome definition file or folder", Option<string[]>? inputs = null)
    {
        var group = new ModelDataOptions(inputs ?? CommonOptions.Inputs(), outcomesDescription);
        foreach (var option in new Option?[] { group.inputs, group.models, group.outcomes, group.features, group.terminology })
        {
            if (option is not null)
            {
                command.Options.Add(option);
            }
        }

        return group;
    }

    public ModelData Read(ParseResult result) => new(
        result.GetValue(inputs) is { Length: > 0 } given ? given : [CommonOptions.DefaultInput],
        result.GetValue(models)!, outcomes is null ? null : result.GetValue(outcomes), result.GetValue(features)!, result.GetValue(terminology)!);
}

/// <summary>
/// What <see cref="ModelDataOptions"/> read: the inputs, the registry folder, the outcome definitions (null for a verb
/// without <c>--outcomes</c>), the feature schema file and the terminology folder.
/// </summary>
internal sealed record ModelData(string[] Inputs, string Registry, string? Outcomes, string Schema, string Terminology)
{
    /// <summary>The outcome definitions of a verb that has <c>--outcomes</c>.</summary>
    public string OutcomesPath => Outcomes ?? throw new InvalidOperationException("This verb has no --outcomes option.");
}
