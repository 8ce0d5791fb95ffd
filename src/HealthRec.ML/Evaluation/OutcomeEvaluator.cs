namespace HealthRec.ML.Evaluation;

/// <summary>One outcome's evaluation on a data set: the current model and its saved baselines, side by side.</summary>
public sealed record OutcomeEvaluation(BundleManifest Manifest, OutcomeMetrics Metrics, ExampleCounts Counts)
{
    public OutcomeDefinition Definition => Manifest.Definition;

    /// <summary>How many of the evaluated patients the model learnt from (null: the bundle predates that record).</summary>
    public int? TrainingOverlap { get; init; }

    /// <summary>The patients in the evaluation's input.</summary>
    public int InputPatients { get; init; }

    /// <summary>When the data overlaps the training patients: what that means for the figures, for the console and the report.</summary>
    public string? OverlapWarning => TrainingOverlap is > 0 and var overlap
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{overlap:N0} of the {InputPatients:N0} patients evaluated were in {Manifest.Outcome} {Manifest.Version}'s training data: for them these figures are in-sample and flatter the model. Evaluate on patients it never saw.")
        : null;
}

/// <summary>Evaluates a registered model on new data: every usable example of the data is a test example.</summary>
public static class OutcomeEvaluator
{
    /// <summary>
    /// Evaluates <paramref name="model"/>, with the outcome's reference equation beside it on the examples it scores.
    /// <paramref name="current"/> is the outcome's definition file, which names the reference (and the equations
    /// alongside) when the bundle's own definition predates them. An equation alongside is evaluated on the same
    /// examples as a ranking only: it estimates another outcome or horizon, so its calibration is not this outcome's.
    /// </summary>
    public static OutcomeEvaluation Evaluate(OutcomeModel model, IReadOnlyCollection<PatientRecord> records, Featurizer featurizer, OutcomeDefinition? current = null)
    {
        var manifest = model.Manifest;
        if (!featurizer.Names.SequenceEqual(manifest.FeatureNames))
        {
            throw new TrainingException($"{manifest.Outcome} {manifest.Version} was trained on feature schema {manifest.FeatureSchemaId} " +
                $"{manifest.FeatureSchemaVersion} ({manifest.FeatureNames.Length} columns); the data was featurized with {featurizer.Schema.Id} " +
                $"{featurizer.Schema.Version} ({featurizer.Width} columns). Evaluate with the schema the model was trained on.");
        }

        var definition = manifest.Definition.Reference is null && current?.Reference is { } reference ? manifest.Definition with { Reference = reference } : manifest.Definition;
        var alongside = definition.Alongside.IsEmpty ? current?.Alongside ?? [] : definition.Alongside;
        var (examples, counts) = OutcomeExamples.Build(records, definition, featurizer);
        if (examples.Count == 0)
        {
            throw new TrainingException($"{definition.Id}: no usable examples in the data ({counts.Patients} patients: {counts.NotAtRisk} " +
                $"index dates not at risk, {counts.Censored} censored).");
        }

        var binary = definition.Kind == OutcomeKind.Binary;
        if (binary && (counts.Positives == 0 || counts.Positives == examples.Count))
        {
            throw new TrainingException($"{definition.Id}: the data has {counts.Positives} positives among {examples.Count} examples; " +
                "discrimination cannot be measured without both outcomes.");
        }

        var batch = examples.Select(e => e.Features).ToList();
        var predictions = model.Predict(batch);
        var metrics = binary
            ? OutcomeMetrics.Binary("lightgbm", examples, predictions, manifest.Threshold)
            : OutcomeMetrics.Regression("lightgbm", examples, predictions);
        foreach (var (name, scores) in model.PredictBaselines(batch))
        {
            metrics.Baselines[name] = binary ? OutcomeMetrics.Binary(name, examples, scores, null) : OutcomeMetrics.Regression(name, examples, scores);
        }

        if (binary && OutcomeTrainer.ReferenceBaseline(definition, examples) is { } equation)
        {
            metrics.Baselines[equation.Algorithm] = equation;
        }

        var byPatient = binary && !alongside.IsEmpty
            ? records.DistinctBy(r => r.PatientId, StringComparer.Ordinal).ToDictionary(r => r.PatientId, StringComparer.Ordinal)
            : [];
        foreach (var id in binary ? alongside : [])
        {
            if (Alongside(Clinical.Risk.ReferenceModels.All[id], byPatient, examples) is { } ranking)
            {
                metrics.Baselines[id] = ranking;
            }
        }

        if (binary && definition.PooledCohortBaseline)
        {
            metrics.Baselines["pooled_cohort_equations"] = OutcomeMetrics.Binary("pooled_cohort_equations", examples,
                [.. examples.Select(e => e.PooledCohortRisk)], null);
        }

        if (binary && (definition.MinFollowUpDays ?? definition.HorizonDays) >= definition.HorizonDays)
        {
            // Calibration against the Kaplan–Meier incidence over every at-risk landmark, censored ones included.
            var atRisk = OutcomeExamples.AtRisk(records, definition, featurizer);
            metrics.InTheLarge = OutcomeTrainer.AgainstKaplanMeier(model.Predict([.. atRisk.Select(e => e.Features)]), atRisk, definition);
        }

        return new OutcomeEvaluation(manifest, metrics, counts);
    }

    // An equation alongside the outcome on the examples it gives a figure for (null when they hold only one label).
    private static OutcomeMetrics? Alongside(Clinical.Risk.ReferenceModel equation, Dictionary<string, PatientRecord> byPatient, List<OutcomeExample> examples)
    {
        var scored = examples.Select(e => (Example: e, Risk: equation.Evaluate(byPatient[e.PatientId], e.IndexAt).Estimate))
            .Where(s => s.Risk is not null).ToList();
        return scored.Exists(s => s.Example.Label) && scored.Exists(s => !s.Example.Label)
            ? OutcomeMetrics.Binary(equation.Id, [.. scored.Select(s => s.Example)], [.. scored.Select(s => s.Risk!.Value)], null)
            : null;
    }

    /// <summary>Every current model under a registry folder.</summary>
    public static ImmutableArray<string> CurrentFolders(string registry) =>
        [.. ModelRegistry.Outcomes(registry).Select(o => ModelRegistry.CurrentFolder(registry, o)!)];
}
