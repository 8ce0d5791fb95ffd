namespace HealthRec.Server.Tests;

public sealed class SynthCommandTests() : TempFolderTests("healthrec-synth-cli-")
{
    [Fact]
    public async Task GivenSynth_WhenACohortIsWrittenAndItsFeaturesAreRead_ThenEveryPatientHasARowAndTheCohortSaysItIsSynthetic()
    {
        var ct = TestContext.Current.CancellationToken;
        var cohort = Path.Combine(Folder.FullName, "cohort");
        var features = Path.Combine(Folder.FullName, "features.csv");

        Assert.Equal(0, await RunAsync("synth", "--patients", "40", "--seed", "3", "--out", cohort, "--years", "5"));
        Assert.Equal(0, await RunAsync("features", "--input", cohort, "--index-date", "2019-12-31", "--out", features,
            "--schema", Path.Combine(TestServices.RepositoryRoot, "models/feature-schema.json"),
            "--terminology", Path.Combine(TestServices.RepositoryRoot, "data/terminology")));

        Assert.Equal(40, (await File.ReadAllLinesAsync(Path.Combine(cohort, "Patient.ndjson"), ct)).Length);
        var manifest = await File.ReadAllTextAsync(Path.Combine(cohort, "COHORT.md"), ct);
        Assert.Contains("not real patients", manifest, StringComparison.Ordinal);
        Assert.Contains("--patients 40 --seed 3", manifest, StringComparison.Ordinal);
        var rows = await File.ReadAllLinesAsync(features, ct);
        Assert.Equal(41, rows.Length);
    }

    [Theory]
    [InlineData("--format", "xml")]
    [InlineData("--start", "2015/01/01")]
    [InlineData("--patients", "0")]
    [InlineData("--years", "0")]
    public async Task GivenABadArgument_WhenSynthRuns_ThenItFailsAndWritesNothing(string option, string value)
    {
        var cohort = Path.Combine(Folder.FullName, "bad");

        var arguments = new Dictionary<string, string> { ["--patients"] = "5", ["--out"] = cohort, [option] = value };

        var exitCode = await RunAsync(["synth", .. arguments.SelectMany(a => new[] { a.Key, a.Value })]);

        Assert.NotEqual(0, exitCode);
        Assert.False(Directory.Exists(cohort));
    }
}
