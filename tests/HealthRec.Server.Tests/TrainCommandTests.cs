using HealthRec.Server.Hosting;
using HealthRec.Testing;

namespace HealthRec.Server.Tests;

public sealed class TrainCommandTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("healthrec-train-cli-");

    public void Dispose() => _folder.Delete(recursive: true);

    private static string Repo(string path) => Path.Combine(TestServices.RepositoryRoot, path);

    private Task<int> TrainAsync(params string[] extra) =>
        HealthRecCommandLine.Create((_, _) => Task.FromResult(0)).Parse([
            "train", "--input", Repo("data/sample"), "--models", _folder.FullName, "--outcomes", Repo("models/outcomes"),
            "--features", Repo("models/feature-schema.json"), "--terminology", Repo("data/terminology"), .. extra,
        ]).InvokeAsync(cancellationToken: TestContext.Current.CancellationToken);

    [Fact]
    public async Task GivenTheDemoSample_WhenTrainedTwice_ThenTwoVersionsAreRegisteredAndTheSecondIsCurrent()
    {
        Assert.Equal(0, await TrainAsync("--outcome", "ckd-5y"));
        Assert.Equal(0, await TrainAsync("--outcome", "ckd-5y"));

        var outcome = Path.Combine(_folder.FullName, "ckd-5y");
        Assert.Equal("v2", (await File.ReadAllTextAsync(Path.Combine(outcome, "current"), TestContext.Current.CancellationToken)).Trim());
        foreach (var version in new[] { "v1", "v2" })
        {
            Assert.All(new[] { "model.zip", "bundle.json", "metrics.json", "model-card.md" }, f => Assert.True(File.Exists(Path.Combine(outcome, version, f)), $"{version}/{f}"));
        }

        Assert.Single(Directory.GetDirectories(_folder.FullName));
    }

    [Fact]
    public async Task GivenAnOutcomeTheDataCannotSupport_WhenTrained_ThenItFailsSayingWhy_AndAnUnknownOutcomeIsABadArgument()
    {
        // Ten-year ASCVD cannot be learnt from ten years of records: every negative is censored.
        Assert.Equal(1, await TrainAsync("--outcome", "ascvd-10y"));
        Assert.False(Directory.Exists(Path.Combine(_folder.FullName, "ascvd-10y", "v1")));

        Assert.Equal(2, await TrainAsync("--outcome", "no-such-outcome"));
    }
}

public sealed class EvaluateAndScoreCommandTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("healthrec-evaluate-cli-");

    public void Dispose() => _folder.Delete(recursive: true);

    private static string Repo(string path) => Path.Combine(TestServices.RepositoryRoot, path);

    private static Task<int> RunAsync(params string[] args) =>
        HealthRecCommandLine.Create((_, _) => Task.FromResult(0)).Parse([.. args, "--features", Repo("models/feature-schema.json"), "--terminology", Repo("data/terminology"),
                .. args[0] == "evaluate" ? new[] { "--catalog", Repo("data/knowledge/interventions.json"), "--outcomes", Repo("models/outcomes") } : []])
            .InvokeAsync(cancellationToken: TestContext.Current.CancellationToken);

    [Fact]
    public async Task GivenTheDefaultModels_WhenTheDemoSampleIsEvaluatedAndScored_ThenTheReportAndOneRowPerPatientAndOutcomeAreWritten()
    {
        var ct = TestContext.Current.CancellationToken;
        var report = Path.Combine(_folder.FullName, "report");
        var csv = Path.Combine(_folder.FullName, "scores.csv");
        var ndjson = Path.Combine(_folder.FullName, "scores.ndjson");

        // The sample cannot support ascvd-10y (every negative is censored): evaluation says so and still reports the rest.
        Assert.Equal(1, await RunAsync("evaluate", "--input", Repo("data/sample"), "--models", Repo("models"), "--report", report));
        Assert.Equal(0, await RunAsync("score", "--input", Repo("data/sample"), "--models", Repo("models"), "--out", csv));
        Assert.Equal(0, await RunAsync("score", "--input", Repo("data/sample"), "--models", Repo("models"), "--out", ndjson, "--index-date", "2022-12-31"));

        var metrics = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(report, "metrics.json"), ct))!;
        var ckd = metrics["outcomes"]!["ckd-5y"]!;
        foreach (var key in new[] { "algorithm", "n", "prevalence", "roc_auc", "pr_auc", "brier", "calibration_slope", "calibration_intercept", "threshold", "accuracy", "precision", "recall", "f1", "subgroups", "baselines" })
        {
            Assert.NotNull(ckd[key]);
        }

        Assert.NotNull(ckd["baselines"]!["logistic_regression"]!["roc_auc"]);
        Assert.Null(metrics["outcomes"]!["ascvd-10y"]);
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
    public async Task GivenBadArguments_WhenScoring_ThenItFailsWithExitCode2()
    {
        Assert.Equal(2, await RunAsync("score", "--input", Repo("data/sample"), "--models", Repo("models"), "--out", Path.Combine(_folder.FullName, "x.txt")));
        Assert.Equal(2, await RunAsync("score", "--input", Repo("data/sample"), "--models", _folder.FullName, "--out", Path.Combine(_folder.FullName, "x.csv")));
        Assert.Equal(2, await RunAsync("evaluate", "--input", Repo("data/sample"), "--models", _folder.FullName));
    }
}

public sealed class RecommendCommandTests
{
    private static string Repo(string path) => Path.Combine(TestServices.RepositoryRoot, path);

    private static async Task<(int ExitCode, string Output)> RunAsync(params string[] args)
    {
        var output = Path.Combine(Path.GetTempPath(), $"healthrec-recommend-{Guid.NewGuid():N}.json");
        try
        {
            var exitCode = await HealthRecCommandLine.Create((_, _) => Task.FromResult(0)).Parse([
                "recommend", "--input", Repo("data/sample"), "--models", Repo("models"), "--catalog", Repo("data/knowledge/interventions.json"),
                "--features", Repo("models/feature-schema.json"), "--terminology", Repo("data/terminology"), "--outcomes", Repo("models/outcomes"),
                "--out", output, .. args,
            ]).InvokeAsync(cancellationToken: TestContext.Current.CancellationToken);
            return (exitCode, File.Exists(output) ? await File.ReadAllTextAsync(output, TestContext.Current.CancellationToken) : "");
        }
        finally
        {
            File.Delete(output);
        }
    }

    [Fact]
    public async Task GivenADemoPatient_WhenRecommendedAsJson_ThenEachSuggestionCarriesEvidenceReasonsAndADraftProposal()
    {
        using var reader = new StreamReader(new System.IO.Compression.GZipStream(File.OpenRead(Repo("data/sample/Patient.ndjson.gz")), System.IO.Compression.CompressionMode.Decompress));
        var patient = System.Text.Json.Nodes.JsonNode.Parse((await reader.ReadLineAsync(TestContext.Current.CancellationToken))!)!;
        var id = (string)patient["id"]!;

        var (exitCode, output) = await RunAsync("--patient", id, "--json", "--top", "3");

        Assert.Equal(0, exitCode);
        var result = System.Text.Json.Nodes.JsonNode.Parse(output)!;
        Assert.Equal(id, (string)result["patient"]!);
        Assert.StartsWith("hybrid (recommender v", (string)result["ranking"]!, StringComparison.Ordinal);
        var recommendations = result["recommendations"]!.AsArray();
        Assert.InRange(recommendations.Count, 1, 3);
        Assert.All(recommendations, r =>
        {
            Assert.NotEmpty(r!["evidence"]!.AsArray());
            Assert.NotEmpty(r["reasons"]!.AsArray());
            Assert.Equal("proposal", (string)r["proposal"]!["intent"]!);
            Assert.Equal("draft", (string)r["proposal"]!["status"]!);
            Assert.Equal($"Patient/{id}", (string)r["proposal"]!["subject"]!["reference"]!);
        });
    }

    [Fact]
    public async Task GivenAnUnknownPatient_WhenRecommended_ThenItFailsWithExitCode2()
    {
        Assert.Equal(2, (await RunAsync("--patient", "no-such-patient")).ExitCode);
    }
}
