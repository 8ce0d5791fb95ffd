namespace HealthRec.Server.Jobs;

/// <summary>One threshold of the alert-burden table: how many patients it flags, per 1,000 and per clinician-day.</summary>
public sealed record BurdenRow(double Threshold, bool Operating, int Flagged, double Per1000Patients, double PerClinicianDay);

/// <summary>An outcome's alert burden in a completed run: at each threshold, the cards a clinic would see.</summary>
public sealed record AlertBurdenTable(string Outcome, string RunId, int Scored, int VisitsPerClinicianDay, IReadOnlyList<BurdenRow> Rows);

/// <summary>
/// The alert burden of a binary outcome at each threshold, from a population-scoring run's estimates (what a threshold
/// would cost clinicians): patients flagged at or above it, per 1,000 patients scored, and per clinician-day — the flag
/// rate times <see cref="ScoringOptions.VisitsPerClinicianDay"/>, assuming a day's patients are like the scored
/// population. The thresholds are a fixed grid, the outcome's band bounds and the threshold that answers (the model's
/// operating threshold, or the equation's decision threshold), marked.
/// </summary>
public static class AlertBurden
{
    private static readonly double[] Grid = [0.02, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5];

    public static async Task<AlertBurdenTable?> ComputeAsync(ScoreStore store, string runId, ML.Serving.OutcomePredictor predictor, int visitsPerClinicianDay,
        CancellationToken cancellationToken)
    {
        if (predictor.Definition.Kind != Clinical.Outcomes.OutcomeKind.Binary)
        {
            return null;
        }

        var operating = predictor.ReferenceAnswers ? predictor.ReferenceThreshold : predictor.Manifest.Threshold;
        var thresholds = Grid.Concat(predictor.Definition.Bands.Select(b => b.From).Where(f => f > 0)).Append(operating)
            .Select(t => Math.Round(t, 4)).Distinct().Order().ToArray();
        var (scored, flagged) = await store.FlagCountsAsync(runId, predictor.Definition.Id, thresholds, cancellationToken);
        return new AlertBurdenTable(predictor.Definition.Id, runId, scored, visitsPerClinicianDay, [.. thresholds.Select((t, i) => new BurdenRow(t,
            t == Math.Round(operating, 4), flagged[i], scored == 0 ? 0 : 1000.0 * flagged[i] / scored,
            scored == 0 ? 0 : (double)visitsPerClinicianDay * flagged[i] / scored))]);
    }

    /// <summary><c>GET /api/alert-burden?outcome=ID</c>: the table for the latest completed run.</summary>
    internal static async Task<IResult> GetAsync(HttpContext http, ScoreStore store, ModelCatalog catalog, Microsoft.Extensions.Options.IOptions<ScoringOptions> options,
        string outcome)
    {
        if (!catalog.Predictors.TryGetValue(outcome, out var predictor) || predictor.Definition.Kind != Clinical.Outcomes.OutcomeKind.Binary)
        {
            return TypedResults.Problem(statusCode: 404, title: "No such binary outcome",
                detail: $"No binary outcome '{outcome}' is served (an alert burden needs a probability and a threshold); see GET /models.");
        }

        if (await store.LatestCompletedAsync(http.RequestAborted) is not { } run)
        {
            return TypedResults.Problem(statusCode: 404, title: "No completed run", detail: "No population-scoring run has completed yet; POST /admin/jobs/population-scoring starts one.");
        }

        return TypedResults.Ok(await ComputeAsync(store, run.RunId, predictor, options.Value.VisitsPerClinicianDay, http.RequestAborted));
    }
}
