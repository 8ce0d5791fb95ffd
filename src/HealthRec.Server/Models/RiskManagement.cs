namespace HealthRec.Server.Models;

/// <summary>One piece of evidence for a characteristic: what it says and where it comes from (an endpoint, a file, a test).</summary>
public sealed record RiskEvidence(string Text, string Source);

/// <summary>One of the eight characteristics and the evidence HealthRec has for it now.</summary>
public sealed record RiskCharacteristic(string Name, string Question, IReadOnlyList<RiskEvidence> Evidence);

/// <summary>
/// Intervention risk management (ONC HTI-1, §170.315(b)(11)(vi): validity, reliability, robustness, fairness,
/// intelligibility, safety, security and privacy). For each characteristic, the evidence HealthRec holds at this moment —
/// the models' stored evaluations (metrics, drift, the fairness audit, performance estimated before labels), the
/// medication-safety rules loaded, how callers are trusted — each with where it comes from, so that a reviewer can check
/// it. Served as JSON (<c>GET /models/risk-management</c>) and as a page for a browser.
/// </summary>
public static class RiskManagement
{
    public static async Task<IReadOnlyList<RiskCharacteristic>> AssessAsync(ModelCatalog catalog, ModelLifecycleStore lifecycle, MedicationSafety safety,
        CdsHooksOptions cds, bool staffSignIn, CancellationToken cancellationToken)
    {
        var ci = CultureInfo.InvariantCulture;
        var evaluations = await lifecycle.EvaluationsAsync(null, 500, cancellationToken);
        var outcomes = catalog.Predictors.Values.OrderBy(p => p.Definition.Id, StringComparer.Ordinal).ToList();
        (JsonNode? Metrics, StoredEvaluation? Evaluation) Latest(string outcome)
        {
            var latest = evaluations.FirstOrDefault(e => e.Outcome == outcome);
            return (latest is null ? null : JsonNode.Parse(latest.MetricsJson), latest);
        }

        string When(StoredEvaluation e) => e.EvaluatedAt.UtcDateTime.ToString("yyyy-MM-dd", ci);
        List<RiskEvidence> PerOutcome(Func<ML.Serving.OutcomePredictor, JsonNode?, StoredEvaluation?, string> say, string source) =>
            [.. outcomes.Select(p => { var (m, e) = Latest(p.Definition.Id); return new RiskEvidence($"{p.Definition.Id} ({p.AnsweringVersion}): {say(p, m, e)}", source.Replace("{outcome}", p.Definition.Id, StringComparison.Ordinal)); })];

        return
        [
            new("validity", "Does it estimate what it says, for the population it says?",
                PerOutcome((p, m, e) => (p.ReferenceAnswers ? $"{p.Reference!.Name}: {p.Reference.Validation}" : p.Manifest.Validation)
                    + (e is null ? "; not yet evaluated on newer data" : string.Create(ci, $"; on the newest labelled data ({When(e)}, {e.Examples:N0} examples): {Metric(m)}")),
                    "/models/{outcome} and /admin/models/{outcome}")),
            new("reliability", "Does it keep performing as data and practice change?",
                PerOutcome((_, m, e) => e is null ? "not yet evaluated" : $"feature drift {e.DriftFlag} ({When(e)})"
                    + (m?["estimated_before_labels"] is { } est ? string.Create(ci, $"; estimated ROC-AUC before labels {(double)est["roc_auc"]!:0.000} on {(int)est["n"]!:N0} patients{((bool)est["below_labelled_by_more_than_tolerance"]! ? " — ALERT" : "")}") : ""),
                    "/admin/models/{outcome} (the daily evaluation)")),
            new("robustness", "Does it fail safely on inputs it was not built for?",
            [
                new("Out-of-time check at training (refitted on earlier data, tested on later) in each model card.", "/models/{outcome}"),
                new("Inputs outside the training data's range are named on the card; a record it cannot estimate gets a card saying why, never an invented risk.", "docs/risk-estimates.md"),
                new("No input answers 5xx: property-based fuzzing of CDS calls, feedback, prefetch Bundles and NDJSON in every CI run.", "tests/HealthRec.Server.Tests/CdsHooks/FuzzTests.cs"),
            ]),
            new("fairness", "Does it perform as well for every group it serves?",
                PerOutcome((_, m, _) => m?["fairness"] is not JsonObject f ? "no fairness audit yet (not a binary model, or not evaluated)"
                    : f["flagged"]!.AsArray().Count == 0 ? "no group outside 0.8–1.25 at the threshold (sex, age band; race and ethnicity where the data states them)"
                    : $"flagged: {string.Join(", ", f["flagged"]!.AsArray().Select(x => (string)x!))}", "/admin/models/{outcome} (metrics.fairness); feedback by cohort at /admin/cds-feedback")),
            new("intelligibility", "Can a clinician see why?",
            [
                new("Every estimate is shown with the factors that moved it, in clinical words, with the model, its validation and what the record lacks.", "CDS cards; the SMART view"),
                new(string.Create(ci, $"{outcomes.Count} model cards, one per outcome, as pages and Markdown."), "/models"),
            ]),
            new("safety", "Can it advise something harmful?",
            [
                new(string.Create(ci, $"{safety.Knowledge.Rules.Length} medication-safety rules (version {safety.Knowledge.Version}) check every draft order and every suggested medicine; a check that cannot run says so on a card."), "/medication-safety"),
                new("A retrained model answers only after the promotion gate (discrimination, calibration, subgroups, and optionally fairness) on the same held-out patients.", "docs/jobs-and-scaling.md"),
            ]),
            new("security", "Who can call it, and can its record be altered unseen?",
            [
                new(cds.Clients.Count == 0 ? "No CDS client configured: only this machine is served (the embedded default)." : string.Create(ci, $"{cds.Clients.Count} CDS client(s) configured: every call needs their signed JWT."), "CdsHooks:Clients"),
                new(staffSignIn ? "Staff sign-in configured: staff pages need a token with the role." : "No staff sign-in configured: staff pages answer this machine only.", "Staff:*"),
                new("Every access and piece of advice is in a hash-chained, append-only audit trail; its chain can be verified.", "/admin/audit/verify"),
            ]),
            new("privacy", "What does it keep about patients, and where does it let it out?",
            [
                new("Stored calls keep ids, counts and a coarse cohort (sex, age band), never resource bodies or tokens; logs carry no PHI, token or JWT (tested).", "tests/HealthRec.Server.Tests/CdsHooks/NoSecretsInLogsTests.cs"),
                new("Pages about a patient are never cached and send no referrer.", "src/HealthRec.Server/Hosting/PageHeaders.cs"),
            ]),
        ];
    }

    private static string Metric(JsonNode? metrics) => metrics is null ? "" : metrics["roc_auc"] is { } auc
        ? string.Create(CultureInfo.InvariantCulture, $"ROC-AUC {(double)auc:0.000}, Brier {(double?)metrics["brier"]:0.0000}, calibration slope {(double?)metrics["calibration_slope"]:0.00}")
        : string.Create(CultureInfo.InvariantCulture, $"MAE {(double?)metrics["mae"]:0.000}");

    internal static async Task<IResult> GetAsync(HttpContext http, ModelCatalog catalog, ModelLifecycleStore lifecycle, MedicationSafety safety,
        IOptions<CdsHooksOptions> cds, IConfiguration configuration)
    {
        var assessment = await AssessAsync(catalog, lifecycle, safety, cds.Value, StaffAccess.SignInConfigured(configuration), http.RequestAborted);
        return http.PrefersHtml("application/json")
            ? new Microsoft.AspNetCore.Http.HttpResults.RazorComponentResult<Staff.RiskManagementPage>(new { Characteristics = assessment })
            : TypedResults.Ok(assessment);
    }
}
