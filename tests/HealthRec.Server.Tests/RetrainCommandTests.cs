namespace HealthRec.Server.Tests;

/// <summary><c>healthrec retrain</c>: the retrain job's code from the command line, against a copy of the default registry.</summary>
public sealed class RetrainCommandTests() : TempFolderTests("healthrec-retrain-cli-")
{
    private Task<int> RetrainAsync(params string[] extra) => ModelsAsync("retrain", Folder.FullName, extra);

    [Fact]
    public async Task GivenTheDefaultChampion_WhenRetrainedOnTheSmallDemoSample_ThenTheWeakerChallengerIsRejectedAndKept_AndARepeatReusesTheDecision()
    {
        var ct = TestContext.Current.CancellationToken;
        var entry = Path.Combine(Folder.FullName, "ckd-5y");
        var champion = (await File.ReadAllTextAsync(Repo("models/ckd-5y/current"), ct)).Trim();
        foreach (var file in Directory.GetFiles(Repo(Path.Combine("models", "ckd-5y", champion))))
        {
            Directory.CreateDirectory(Path.Combine(entry, champion));
            File.Copy(file, Path.Combine(entry, champion, Path.GetFileName(file)));
        }

        await File.WriteAllTextAsync(Path.Combine(entry, "current"), champion, ct);

        Assert.Equal(0, await RetrainAsync("--outcome", "ckd-5y"));
        var challengers = Directory.GetDirectories(entry).Select(Path.GetFileName).Where(v => v != champion).ToList();
        var challenger = Assert.Single(challengers);
        Assert.Equal(champion, (await File.ReadAllTextAsync(Path.Combine(entry, "current"), ct)).Trim());
        var gate = await File.ReadAllTextAsync(Path.Combine(entry, challenger!, "gate.json"), ct);
        Assert.Contains("\"promote\": false", gate, StringComparison.Ordinal);
        Assert.Contains($"{challenger} rejected (", await File.ReadAllTextAsync(Path.Combine(entry, challenger!, "model-card.md"), ct), StringComparison.Ordinal);

        // The same data and seed again: the decision stands, nothing is trained twice.
        Assert.Equal(0, await RetrainAsync("--outcome", "ckd-5y"));
        Assert.Equal(2, Directory.GetDirectories(entry).Length);
    }

    [Theory]
    [InlineData("--outcome", "no-such-outcome")]
    [InlineData("--gate", "/no/such/gate.json")]
    public async Task GivenABadArgument_WhenRetrainRuns_ThenItExitsWithTwoAndRegistersNothing(string option, string value)
    {
        Assert.Equal(2, await RetrainAsync(option, value));
        Assert.Empty(Directory.GetFileSystemEntries(Folder.FullName));
    }
}
