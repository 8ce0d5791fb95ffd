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
