namespace HealthRec.Server.Tests;

// Tests that redirect Console.Out or Console.Error must not run beside any other test: the console is one per process.
[Collection(SequentialServers.Name)]
public sealed class EvaluateAndScoreCommandTests() : TempFolderTests("healthrec-evaluate-cli-")
{
    // A verb's arguments with the shipped schema and terminology (and, to evaluate, the catalog and outcomes).
    private static string[] Shipped(params string[] args) =>
        [.. args, "--features", Repo("models/feature-schema.json"), "--terminology", Repo("data/terminology"),
            .. args[0] == "evaluate" ? new[] { "--catalog", Repo("data/knowledge/interventions.json"), "--outcomes", Repo("models/outcomes") } : []];

    private static Task<int> CommandAsync(params string[] args) => RunAsync(Shipped(args));

    [Fact]
    public async Task GivenAMalformedLine_WhenScored_ThenItIsReportedByFileAndLineAndTheOtherPatientsAreScored()
    {
        var ct = TestContext.Current.CancellationToken;
        var input = Directory.CreateDirectory(Path.Combine(Folder.FullName, "input"));
        await File.WriteAllLinesAsync(Path.Combine(input.FullName, "Patient.ndjson"),
        [
            """{"resourceType":"Patient","id":"p1","gender":"female","birthDate":"1960-01-01"}""",
            """{"resourceType":"Patient","id":"p2","gender":""",
            """{"resourceType":"Patient","id":"p3","gender":"male","birthDate":"1955-01-01"}""",
        ], ct);
        var (exitCode, printed, _) = await CaptureAsync(Shipped(
            "score", "--input", input.FullName, "--models", Repo("models"), "--out", Path.Combine(Folder.FullName, "s.csv"), "--index-date", "2024-01-01"));

        Assert.Equal(0, exitCode);
        Assert.Contains("scored 2 patients", printed, StringComparison.Ordinal);
        Assert.Contains("MalformedJson: 1", printed, StringComparison.Ordinal);
        Assert.Contains("Patient.ndjson:2", printed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenTheDefaultModels_WhenTheDemoSampleIsEvaluatedAndScored_ThenTheReportAndOneRowPerPatientAndOutcomeAreWritten()
    {
        var ct = TestContext.Current.CancellationToken;
        var report = Path.Combine(Folder.FullName, "report");
        var csv = Path.Combine(Folder.FullName, "scores.csv");
        var ndjson = Path.Combine(Folder.FullName, "scores.ndjson");

        // The sample cannot support ascvd-10y (every negative is censored): evaluation says so and still reports the rest.
        Assert.Equal(1, await CommandAsync("evaluate", "--input", Repo("data/sample"), "--models", Repo("models"), "--report", report));
        Assert.Equal(0, await CommandAsync("score", "--input", Repo("data/sample"), "--models", Repo("models"), "--out", csv));
        Assert.Equal(0, await CommandAsync("score", "--input", Repo("data/sample"), "--models", Repo("models"), "--out", ndjson, "--index-date", "2022-12-31"));

        var metrics = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(report, "metrics.json"), ct))!;
        var ckd = metrics["outcomes"]!["ckd-5y"]!;
        foreach (var key in new[] { "algorithm", "n", "prevalence", "roc_auc", "pr_auc", "brier", "calibration_slope", "calibration_intercept", "threshold", "accuracy", "precision", "recall", "f1", "subgroups", "baselines" })
        {
            Assert.NotNull(ckd[key]);
        }

        Assert.NotNull(ckd["baselines"]!["logistic_regression"]!["roc_auc"]);
        Assert.Null(metrics["outcomes"]!["ascvd-10y"]);
        // The TRIPOD+AI checklist of each evaluated model, as this evaluation leaves it: every item a server knows filled,
        // the authors' left empty, and the differences between development and evaluation data (16) naming this data.
        var tripod = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(report, "tripod-ai.json"), ct))!["outcomes"]!["ckd-5y"]!;
        Assert.Equal(52, (int)tripod["total"]!);
        Assert.Equal(Server.Transparency.TripodAiChecklist.Items.Count(i => i.ServerKnows), (int)tripod["filled"]!);
        Assert.Contains(Repo("data/sample"), (string)tripod["items"]!.AsArray().Single(i => (string)i!["id"]! == "16")!["value"]!, StringComparison.Ordinal);
        var html = await File.ReadAllTextAsync(Path.Combine(report, "index.html"), ct);
        Assert.Contains("<svg", html, StringComparison.Ordinal);
        Assert.Contains("id=\"recommender\"", html, StringComparison.Ordinal);
        // With the committed recommender: the hybrid and its three comparators on the same held-out patients.
        foreach (var ranker in new[] { "hybrid", "content", "collaborative", "popularity" })
        {
            var section = metrics["recommender"]![ranker]!;
            Assert.True((int)section["patients"]! > 0);
            Assert.Equal(0, (int)section["contraindicated"]!);
            Assert.InRange((double)section["ndcg_at_5"]!, 0, 1);
        }

        Assert.Equal(1.0, (double)metrics["recommender"]!["content"]!["guideline_concordance_at_3"]!);
        Assert.Equal(1.0, (double)metrics["recommender"]!["hybrid"]!["guideline_concordance_at_3"]!);
        Assert.Contains("NDCG@5 of each ranker", html, StringComparison.Ordinal);

        var rows = await File.ReadAllLinesAsync(csv, ct);
        Assert.Equal("patient_id,index_date,outcome,estimate,band,model_version,top_factors", rows[0]);
        Assert.True(rows.Length > 300, $"{rows.Length} rows for 300 patients and 4 models");
        Assert.All(rows.Skip(1), r => Assert.Matches(",(ascvd-10y|ckd-5y|hba1c-1y|t2d-5y),", r));
        var first = System.Text.Json.Nodes.JsonNode.Parse((await File.ReadAllLinesAsync(ndjson, ct))[0])!;
        Assert.StartsWith("2022-12-31", (string)first["index_date"]!, StringComparison.Ordinal);
        Assert.Contains("synthetic", (string)first["validation"]!, StringComparison.Ordinal);
        Assert.NotEmpty(first["top_factors"]!.AsArray());
    }

    [Fact]
    public async Task GivenDataWhereNobodyStartsACatalogMedicine_WhenEvaluated_ThenTheModelsAreReportedAndTheRecommenderSectionIsLeftOutWithoutACrash()
    {
        // A site's own data with no prescriptions (the demo sample without its medication files): the recommender has
        // nothing to be judged against, which the run says; the models' report is written all the same.
        var ct = TestContext.Current.CancellationToken;
        var input = Directory.CreateDirectory(Path.Combine(Folder.FullName, "no-medicines")).FullName;
        foreach (var file in Directory.GetFiles(Repo("data/sample"), "*.ndjson.gz").Where(f => !Path.GetFileName(f).StartsWith("Medication", StringComparison.Ordinal)))
        {
            File.Copy(file, Path.Combine(input, Path.GetFileName(file)));
        }

        var report = Path.Combine(Folder.FullName, "report");
        var (exitCode, _, errors) = await CaptureAsync(Shipped("evaluate", "--input", input, "--models", Repo("models"), "--report", report));

        // Exit 1 as for the sample itself: ascvd-10y cannot be evaluated on ten years of data.
        Assert.Equal(1, exitCode);
        Assert.Contains("recommender not evaluated: no held-out patient in the input was started on one of the catalog's medicines", errors, StringComparison.Ordinal);
        var metrics = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(report, "metrics.json"), ct))!;
        Assert.NotNull(metrics["outcomes"]!["ckd-5y"]!["roc_auc"]);
        Assert.Null(metrics["recommender"]);
    }

    [Fact]
    public async Task GivenBadArguments_WhenScoring_ThenItFailsWithExitCode2()
    {
        Assert.Equal(2, await CommandAsync("score", "--input", Repo("data/sample"), "--models", Repo("models"), "--out", Path.Combine(Folder.FullName, "x.txt")));
        Assert.Equal(2, await CommandAsync("score", "--input", Repo("data/sample"), "--models", Folder.FullName, "--out", Path.Combine(Folder.FullName, "x.csv")));
        Assert.Equal(2, await CommandAsync("evaluate", "--input", Repo("data/sample"), "--models", Folder.FullName));
    }
}
