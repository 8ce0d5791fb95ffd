namespace HealthRec.Server.Jobs;

/// <summary>
/// <c>healthrec retrain</c>: the retrain job's code without the server — a challenger for each outcome, judged by the
/// promotion gate against the current model on the same held-out patients, promoted only when it passes.
/// </summary>
internal static class RetrainCommand
{
    public static Command Create()
    {
        var seed = new Option<int>("--seed") { Description = "Seed for the split, the search and LightGBM", DefaultValueFactory = _ => 1 };
        var only = new Option<string[]>("--outcome") { Description = "Retrain only this outcome id (repeatable). Default: every definition" };
        var gate = new Option<string?>("--gate") { Description = "JSON file of gate thresholds (aucTolerance, minCalibrationSlope, maxCalibrationSlope, brierTolerance, subgroupMinimum, subgroupMinimumEvents, subgroupMaxGap, maeTolerance); defaults otherwise" };
        var command = new Command("retrain", "Train a challenger for each outcome and promote it only through the promotion gate (the retrain job's code); a rejected challenger stays in the registry for review.")
        {
            seed, only, gate,
        };
        var data = ModelDataOptions.AddTo(command);
        command.SetAction((result, cancellationToken) => RunAsync(
            data.Read(result), result.GetValue(seed), result.GetValue(only) ?? [], result.GetValue(gate), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(ModelData data, int seed, string[] only, string? gateFile, CancellationToken cancellationToken)
    {
        var (inputs, registry, _, schemaFile, terminologyFolder) = data;
        var outcomesPath = data.OutcomesPath;
        if (await InputSources.SchemaAsync(terminologyFolder, schemaFile) is not var (terms, featurizer))
        {
            return 2;
        }

        GateThresholds thresholds;
        try
        {
            thresholds = gateFile is null ? new GateThresholds()
                : JsonSerializer.Deserialize<GateThresholds>(await File.ReadAllTextAsync(gateFile, cancellationToken), ModelRegistry.Json)
                    ?? throw new JsonException("the file holds JSON null");
        }
        catch (Exception ex) when (ex is JsonException or IOException)
        {
            await Console.Error.WriteLineAsync($"--gate '{gateFile}': {ex.Message}");
            return 2;
        }

        List<OutcomeDefinition> definitions;
        try
        {
            definitions = [.. OutcomeFiles.Load(outcomesPath, terms)];
        }
        catch (OutcomeDefinitionException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 2;
        }

        var unknown = only.Where(id => definitions.TrueForAll(d => d.Id != id)).ToList();
        if (unknown.Count > 0)
        {
            await Console.Error.WriteLineAsync($"--outcome {string.Join(", ", unknown)}: no such outcome in '{outcomesPath}'.");
            return 2;
        }

        if (await InputSources.ReadForCommandAsync(inputs, terms, cancellationToken) is not var (records, report))
        {
            return 2;
        }

        Console.WriteLine($"read {records.Count:N0} patients ({report.TotalProblems:N0} data problems reported)");
        if (report.NotedSummary is { Length: > 0 } noted)
        {
            Console.WriteLine($"noted: {noted}");
        }
        var provenance = InputSources.Provenance(inputs, seed, featurizer.Schema, InputSources.CommandLine("retrain",
        [
            .. inputs.Select(i => ("--input", (string?)i)), ("--models", registry), ("--outcomes", outcomesPath), ("--features", schemaFile),
            ("--terminology", terminologyFolder), ("--seed", seed.ToString(CultureInfo.InvariantCulture)), .. only.Select(o => ("--outcome", o)),
            .. gateFile is null ? [] : new[] { ("--gate", (string?)gateFile) },
        ]));
        var results = new Retrainer(featurizer, definitions).Run(records, registry, Retrainer.CommandLineKey(provenance), provenance, thresholds, only,
            DateTimeOffset.UtcNow, Console.Out, cancellationToken);
        return results.Any(r => r.Failed) ? 1 : 0;
    }
}
