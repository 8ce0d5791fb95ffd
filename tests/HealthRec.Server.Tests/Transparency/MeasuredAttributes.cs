namespace HealthRec.Server.Tests.Transparency;

/// <summary>
/// What the evaluation job leaves in the source attributes (HTI-1 groups 7 and 8): checked by the evaluation test after
/// the job ran, on the server it ran on.
/// </summary>
internal static class MeasuredAttributes
{
    public static async Task AssertFilledByTheEvaluationAsync(RunningServer server, IReadOnlyList<StoredEvaluation> evaluations, CancellationToken cancellationToken)
    {
        var sets = server.Services.GetRequiredService<SourceAttributeSets>();
        await sets.RefreshAsync(cancellationToken);
        var catalog = server.Services.GetRequiredService<ModelCatalog>();
        foreach (var evaluation in evaluations)
        {
            var metrics = JsonNode.Parse(evaluation.MetricsJson)!;
            var set = (await server.Client.GetFromJsonAsync<JsonObject>(new Uri($"/models/{evaluation.Outcome}/attributes", UriKind.Relative), cancellationToken))!;
            var byId = set["attributes"]!.AsArray().ToDictionary(a => (string)a!["id"]!, a => a!);
            var local = byId["B.8.ii"]["measurement"]!;
            Assert.Equal(evaluation.EvaluationId, (string)local["runId"]!);
            Assert.False((bool)local["stale"]!);
            Assert.Contains((string)metrics["from"]!, (string)local["window"]!, StringComparison.Ordinal);
            Assert.Contains((string)metrics["to"]!, (string)local["window"]!, StringComparison.Ordinal);
            if (metrics["roc_auc"] is { } auc)
            {
                Assert.Equal("roc_auc", (string)local["metric"]!);
                Assert.Equal((double)auc, (double)local["estimate"]!, 9);
                Assert.Equal((double)metrics["roc_auc_ci95"]![0]!, (double)local["low"]!, 9);
                Assert.Equal((double)metrics["roc_auc_ci95"]![1]!, (double)local["high"]!, 9);
            }
            else
            {
                Assert.Equal((double)metrics["mae"]!, (double)local["estimate"]!, 9);
            }

            Assert.Equal(evaluation.EvaluationId, (string)byId["B.8.iv"]["measurement"]!["runId"]!);
            Assert.StartsWith("worst subgroup", (string)byId["B.8.iv"]["measurement"]!["metric"]!, StringComparison.Ordinal);
            var predictor = catalog.Current.Predictors[evaluation.Outcome];
            if (!predictor.ReferenceAnswers)
            {
                // The cohort is not the models' training source: the evaluation is external validation too (group 7).
                Assert.Equal(evaluation.EvaluationId, (string)byId["B.7.iii"]["measurement"]!["runId"]!);
                Assert.Equal((double)local["estimate"]!, (double)byId["B.7.iii"]["measurement"]!["estimate"]!, 9);
            }

            // Older than Transparency:StaleAfterDays, the same figures are marked stale and the set's digest changes.
            var subject = new PredictiveSubject(predictor, predictor.ReferenceAnswers ? predictor.Reference!.Id : PredictiveSubject.LightGbm, null, evaluation, null);
            var jobs = new JobSettings("x", null, 2, "x", null, new GateThresholds());
            var options = new TransparencyOptions();
            var fresh = PredictiveAttributes.Build(subject, jobs, options, evaluation.EvaluatedAt.AddDays(options.StaleAfterDays - 1));
            var old = PredictiveAttributes.Build(subject, jobs, options, evaluation.EvaluatedAt.AddDays(options.StaleAfterDays + 1));
            Assert.False(fresh.Attributes.Single(a => a.Id == "B.8.ii").Measurement!.Stale);
            Assert.True(old.Attributes.Single(a => a.Id == "B.8.ii").Measurement!.Stale);
            Assert.NotEqual(fresh.Digest, old.Digest);
        }
    }
}
