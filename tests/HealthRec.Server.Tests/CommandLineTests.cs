namespace HealthRec.Server.Tests;

public sealed class CommandLineTests
{
    [Theory]
    [InlineData(new string[0], new string[0])]
    [InlineData(new[] { "serve" }, new string[0])]
    [InlineData(new[] { "serve", "--urls=http://127.0.0.1:5055" }, new[] { "--urls=http://127.0.0.1:5055" })]
    [InlineData(new[] { "--ConnectionStrings:Postgres=Host=db;Username=hr" }, new[] { "--ConnectionStrings:Postgres=Host=db;Username=hr" })]
    public async Task GivenServeOrNoVerb_WhenInvoked_ThenTheServerStartsWithTheRemainingSettings(string[] args, string[] expected)
    {
        string[]? served = null;
        var root = HealthRecCommandLine.Create((settings, _) =>
        {
            served = settings;
            return Task.FromResult(0);
        });

        var exitCode = await root.Parse(args).InvokeAsync(cancellationToken: Ct);

        Assert.Equal(0, exitCode);
        Assert.Equal(expected, served);
    }

    [Fact]
    public async Task GivenUnknownVerb_WhenInvoked_ThenItFailsWithoutStartingTheServer()
    {
        var started = false;
        var root = HealthRecCommandLine.Create((_, _) =>
        {
            started = true;
            return Task.FromResult(0);
        });

        var exitCode = await root.Parse(["srve"]).InvokeAsync(cancellationToken: Ct);

        Assert.Equal(2, exitCode);
        Assert.False(started);
    }
}

/// <summary>The executable's failures: one human line per problem on standard error, exit code 2, no stack trace.</summary>
[Collection(SequentialServers.Name)]
public sealed class CommandLineFailureTests() : TempFolderTests("healthrec-cli-")
{
    private static async Task<(int ExitCode, string Errors)> RunAsync(params string[] args)
    {
        var (exitCode, _, errors) = await CaptureAsync(() => HealthRecCommandLine.RunAsync(args, (_, _) => Task.FromResult(0), TestContext.Current.CancellationToken));
        return (exitCode, errors);
    }

    [Theory]
    [InlineData("synth --patients abc --out X", "--patients: 'abc' is not a whole number")]
    [InlineData("synth --bogus 1 --out X", "'--bogus' is not an option or argument of 'synth'")]
    [InlineData("audit verify --bogus", "'--bogus' is not an option or argument of 'audit verify'\nRun 'healthrec audit verify --help' for its options.")]
    [InlineData("train --cv many", "--cv: 'many' is not a whole number")]
    [InlineData("srve", "Unknown command 'srve'")]
    [InlineData("synth --patients 2 --out /proc/healthrec-nope", "synth: ")]
    [InlineData("recommend --patient p --models /nonexistent-models", "--models '/nonexistent-models' is not a folder")]
    [InlineData("features --input EMPTY --out OUT --schema SCHEMA", "No patient in ")]
    public async Task GivenABadCommandLine_WhenRun_ThenItExitsWith2SayingWhatIsWrongWithoutAStackTrace(string line, string expected)
    {
        Directory.CreateDirectory(Path.Combine(Folder.FullName, "empty"));
        var args = line.Split(' ').Select(a => a switch
        {
            "X" => Path.Combine(Folder.FullName, "x"),
            "EMPTY" => Path.Combine(Folder.FullName, "empty"),
            "OUT" => Path.Combine(Folder.FullName, "features.csv"),
            "SCHEMA" => Path.Combine(HealthRec.Testing.TestServices.RepositoryRoot, "models", "feature-schema.json"),
            _ => a,
        }).ToArray();

        var (exitCode, errors) = await RunAsync(args);

        Assert.Equal(2, exitCode);
        Assert.Contains(expected, errors, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenSettingsTheServerCannotStartWith_WhenServed_ThenItExitsWith1OnOneLineWithoutAStackTrace()
    {
        var missing = Path.Combine(Folder.FullName, "no-hooks-here");
        // The real server's composition: its definitions folder does not exist.
        var (exitCode, _, errors) = await CaptureAsync(() => HealthRecCommandLine.RunAsync(
            ["serve", "--urls=http://127.0.0.1:0", $"--CdsHooks:DefinitionsPath={missing}", $"--Storage:SqlitePath={Path.Combine(Folder.FullName, "h.db")}",
             $"--Storage:AuditSpoolPath={Path.Combine(Folder.FullName, "spool")}"],
            Program.ServeAsync, TestContext.Current.CancellationToken));

        Assert.Equal(1, exitCode);
        Assert.Contains($"serve: CDS Service definitions folder '{missing}' does not exist", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", errors, StringComparison.Ordinal);
        Assert.Single(errors.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
