using HealthRec.Server.Hosting;

namespace HealthRec.Server.Tests;

public sealed class CommandLineTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

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

        Assert.Equal(1, exitCode);
        Assert.False(started);
    }
}
