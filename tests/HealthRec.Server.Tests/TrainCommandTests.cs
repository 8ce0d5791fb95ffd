namespace HealthRec.Server.Tests;

// Tests that redirect Console.Out or Console.Error must not run beside any other test: the console is one per process.
[Collection(SequentialServers.Name)]
public sealed class TrainCommandTests() : TempFolderTests("healthrec-train-cli-")
{
    private Task<int> TrainAsync(params string[] extra) => ModelsAsync("train", Folder.FullName, extra);

    [Fact]
    public async Task GivenTheTenYearDemoSample_WhenAscvdIsTrained_ThenItSaysTheCohortIsTooShortAndThatPreventKeepsAnswering_WithoutFailing()
    {
        // The demo sample spans 10 years: no index date has ten years of data after it. ASCVD has a validated equation,
        // so this is not a failure: no challenger is trained, and the equation answers as before.
        var (exitCode, output, _) = await CaptureAsync(OnSample("train", Folder.FullName, "--outcome", "ascvd-10y"));

        Assert.Equal(0, exitCode);
        Assert.Contains("ascvd-10y: the cohort is too short for this outcome", output, StringComparison.Ordinal);
        Assert.Contains("Not trained; PREVENT (AHA 2024), 10-year ASCVD keeps answering for ascvd-10y.", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(Folder.FullName, "ascvd-10y", "v1")));
    }

    [Fact]
    public async Task GivenTheDemoSample_WhenTrainedTwice_ThenTwoVersionsAreRegisteredAndTheSecondIsCurrent()
    {
        Assert.Equal(0, await TrainAsync("--outcome", "ckd-5y"));
        Assert.Equal(0, await TrainAsync("--outcome", "ckd-5y"));

        var outcome = Path.Combine(Folder.FullName, "ckd-5y");
        Assert.Equal("v2", (await File.ReadAllTextAsync(Path.Combine(outcome, "current"), TestContext.Current.CancellationToken)).Trim());
        foreach (var version in new[] { "v1", "v2" })
        {
            Assert.All(new[] { "model.zip", "bundle.json", "metrics.json", "model-card.md" }, f => Assert.True(File.Exists(Path.Combine(outcome, version, f)), $"{version}/{f}"));
        }

        Assert.Single(Directory.GetDirectories(Folder.FullName));

        // The model card's command reproduces the run: every path and option, not only the input and the seed.
        var card = await File.ReadAllTextAsync(Path.Combine(outcome, "v2", "model-card.md"), TestContext.Current.CancellationToken);
        Assert.Contains($"- command: `healthrec train --input {Repo("data/sample")} --models {Folder.FullName} --outcomes {Repo("models/outcomes")} " +
            $"--features {Repo("models/feature-schema.json")} --terminology {Repo("data/terminology")} --seed 1 --outcome ckd-5y --catalog data/knowledge/interventions.json`",
            card, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenCliniciansFeedbackInTheDatabase_WhenTheRecommenderIsTrainedWithIt_ThenTheFeedbackIsUsedAndRecorded()
    {
        var ct = TestContext.Current.CancellationToken;
        foreach (var outcome in new[] { "ascvd-10y", "ckd-5y", "hba1c-1y", "t2d-5y" })
        {
            CopyFolder(Repo(Path.Combine("models", outcome, "v2")), Path.Combine(Folder.FullName, outcome, "v2"));
            await File.WriteAllTextAsync(Path.Combine(Folder.FullName, outcome, "current"), "v2", ct);
        }

        // Feedback as the CDS Hooks endpoint stores it: a card per demo patient of the training part, one suggestion accepted.
        var database = Path.Combine(Folder.FullName, "var", "healthrec.db");
        var ids = (await ReadPatientIdsAsync(ct)).Where(id => ML.Training.PatientSplit.Of(id, 1) == ML.Training.PatientSplit.Part.Train).Take(40).ToList();
        var db = Data.HealthRecDatabase.ForSqlite(database);
        await new Data.SchemaMigrator(db, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<Data.SchemaMigrator>.Instance).MigrateAsync(ct);
        var invocations = new Data.InvocationStore(db);
        var answers = new List<Data.CdsFeedback>();
        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
        {
            var at = new DateTimeOffset(2024, 6, 1, 9, 0, 0, TimeSpan.Zero);
            await invocations.RecordAsync(new Data.CdsInvocation("healthrec-patient-risk", $"hi-{i}", "patient-view", id, at, 5, 200, 1),
                [new Data.CdsCardRecord($"card-{i}", "recommendation", "recommendations", "info", "Consider: statin",
                    [new Data.CdsSuggestionRecord($"s-{i}", i % 2 == 0 ? "statin-moderate" : "ace-inhibitor", "Propose")])], ct);
            answers.Add(new Data.CdsFeedback($"card-{i}", "healthrec-patient-risk", i % 3 == 0 ? "overridden" : "accepted", i % 3 == 0 ? [] : [$"s-{i}"],
                null, null, null, at.AddMinutes(2), at.AddMinutes(3), null));
        }

        await new Data.FeedbackStore(db).RecordAsync(answers, ct);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();

        Assert.Equal(0, await TrainAsync("--outcome", "recommender", "--feedback-db", database, "--catalog", Repo("data/knowledge/interventions.json")));

        var manifest = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Folder.FullName, "recommender", "v1", "bundle.json"), ct))!;
        var used = (int)manifest["feedbackUsed"]!;
        Assert.True(used > 0, $"no feedback used (skipped {(int)manifest["feedbackSkipped"]!})");
        Assert.Equal(ids.Count, used + (int)manifest["feedbackSkipped"]!);
        var recommenderCard = await File.ReadAllTextAsync(Path.Combine(Folder.FullName, "recommender", "v1", "model-card.md"), ct);
        Assert.Contains($"Clinician feedback used: {used}", recommenderCard, StringComparison.Ordinal);
        // The command names the feedback database without copying it: a connection string may hold a password.
        Assert.Contains("--feedback-db <not recorded>", recommenderCard, StringComparison.Ordinal);
        Assert.DoesNotContain(database, recommenderCard, StringComparison.Ordinal);
        Assert.Equal(2, await TrainAsync("--outcome", "recommender", "--feedback-db", Path.Combine(Folder.FullName, "missing.db")));
    }

    private static async Task<List<string>> ReadPatientIdsAsync(CancellationToken ct)
    {
        await using var file = File.OpenRead(Repo(Path.Combine("data", "sample", "Patient.ndjson.gz")));
        await using var gzip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        var ids = new List<string>();
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            ids.Add((string)System.Text.Json.Nodes.JsonNode.Parse(line)!["id"]!);
        }

        return ids;
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var folder in Directory.GetDirectories(from))
        {
            CopyFolder(folder, Path.Combine(to, Path.GetFileName(folder)));
        }
    }

    [Fact]
    public async Task GivenASitesOwnOutcomeFolder_WhenTrainedWithoutNamingOutcomes_ThenItsModelIsSavedAndTheRecommenderItCannotTrainDoesNotFailTheRun()
    {
        // The site's one outcome, under its own id: the catalog's effects name the default outcomes, so no recommender.
        var ct = TestContext.Current.CancellationToken;
        var outcomes = Directory.CreateDirectory(Path.Combine(Folder.FullName, "my-outcomes"));
        var ckd = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(Repo("models/outcomes/ckd-5y.json"), ct))!;
        ckd["id"] = "site-kidney";
        ckd.AsObject().Remove("reference"); // CKD-PC estimates ckd-5y: an outcome of the site's own id names no reference
        await File.WriteAllTextAsync(Path.Combine(outcomes.FullName, "site-kidney.json"), ckd.ToJsonString(), ct);
        var registry = Path.Combine(Folder.FullName, "registry");
        var (exitCode, output, errors) = await CaptureAsync(
            "train", "--input", Repo("data/sample"), "--models", registry, "--outcomes", outcomes.FullName,
            "--features", Repo("models/feature-schema.json"), "--terminology", Repo("data/terminology"), "--catalog", Repo("data/knowledge/interventions.json"));

        Assert.True(exitCode == 0, $"exit {exitCode}: {errors}");
        Assert.True(File.Exists(Path.Combine(registry, "site-kidney", "v1", "model.zip")));
        // One line naming what the catalog needs and this run lacks, not the catalog's every problem.
        Assert.True(errors.Contains("interventions.json) names features or outcomes this run's feature schema and outcome definitions do not have " +
            "(outcomes ascvd-10y, ckd-5y, hba1c-1y, t2d-5y)", StringComparison.Ordinal), errors);
        Assert.DoesNotContain("problem(s)", errors, StringComparison.Ordinal);
        Assert.Contains("The recommender was not asked for by --outcome: the models above are saved", output, StringComparison.Ordinal);

        // Asked for by name, the same failure fails the run.
        Assert.Equal(1, await RunAsync([
            "train", "--input", Repo("data/sample"), "--models", registry, "--outcomes", outcomes.FullName,
            "--features", Repo("models/feature-schema.json"), "--terminology", Repo("data/terminology"), "--outcome", "recommender",
            "--catalog", Repo("data/knowledge/interventions.json"),
        ]));
    }

    [Fact]
    public async Task GivenAnOutcomeTheDataCannotSupport_WhenTrained_ThenItFailsSayingWhy_AndAnUnknownOutcomeIsABadArgument()
    {
        // A twelve-year diabetes outcome (no reference equation to fall back on) cannot be learnt from ten years of records.
        var outcomes = Directory.CreateDirectory(Path.Combine(Folder.FullName, "outcomes"));
        var t2d = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(Repo("models/outcomes/t2d-5y.json"), TestContext.Current.CancellationToken))!;
        t2d["id"] = "t2d-12y";
        t2d["horizonDays"] = 12 * 365;
        await File.WriteAllTextAsync(Path.Combine(outcomes.FullName, "t2d-12y.json"), t2d.ToJsonString(), TestContext.Current.CancellationToken);
        var (exitCode, _, errors) = await CaptureAsync(
            "train", "--input", Repo("data/sample"), "--models", Path.Combine(Folder.FullName, "registry"), "--outcomes", outcomes.FullName,
            "--features", Repo("models/feature-schema.json"), "--terminology", Repo("data/terminology"), "--outcome", "t2d-12y");

        Assert.Equal(1, exitCode);
        Assert.Contains("t2d-12y: the cohort is too short for this outcome", errors, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(Folder.FullName, "registry", "t2d-12y", "v1")));

        Assert.Equal(2, await TrainAsync("--outcome", "no-such-outcome"));
    }
}
