namespace HealthRec.Server.Tests;

public sealed class RecommendCommandTests
{
    private static async Task<(int ExitCode, string Output)> RecommendAsync(params string[] args)
    {
        var output = Path.Combine(Path.GetTempPath(), $"healthrec-recommend-{Guid.NewGuid():N}.json");
        try
        {
            var exitCode = await Cli.RunAsync([
                "recommend", "--input", Repo("data/sample"), "--models", Repo("models"), "--catalog", Repo("data/knowledge/interventions.json"),
                "--features", Repo("models/feature-schema.json"), "--terminology", Repo("data/terminology"), "--outcomes", Repo("models/outcomes"),
                "--out", output, .. args,
            ]);
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

        var (exitCode, output) = await RecommendAsync("--patient", id, "--json", "--top", "3");

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

        // Each outcome's estimate as data: who answered, and for a model the validated equation's figure beside it.
        var estimates = result["estimates"]!.AsArray();
        Assert.NotEmpty(estimates);
        Assert.All(estimates, e => Assert.Contains((string)e!["answeredBy"]!, new[] { "equation", "model" }));
        Assert.All(estimates.Where(e => (string)e!["outcome"]! == "ascvd-10y"), e => Assert.Equal("prevent-ascvd", (string)e!["model"]!));
        Assert.All(estimates.Where(e => (string)e!["answeredBy"]! == "model"), e => Assert.True((bool)e!["trainedOnSyntheticData"]!));
    }

    [Fact]
    public async Task GivenAnUnknownPatient_WhenRecommended_ThenItFailsWithExitCode2()
    {
        Assert.Equal(2, (await RecommendAsync("--patient", "no-such-patient")).ExitCode);
    }
}
