using Microsoft.Extensions.Options;

namespace HealthRec.Server.Tests;

/// <summary>
/// Who counts as this machine's operator: loopback always; a configured network (a container's bridge, where port
/// mapping makes every caller the gateway) only when set — so a container on a laptop is usable and one in production
/// is not open by default.
/// </summary>
[Collection(SequentialServers.Name)]
public sealed class LocalNetworksTests
{
    private static DefaultHttpContext Caller(string address, params string[] localNetworks)
    {
        var services = new ServiceCollection()
            .AddSingleton(Options.Create(new HostingOptions { LocalNetworks = [.. localNetworks] }))
            .BuildServiceProvider();
        var http = new DefaultHttpContext { RequestServices = services };
        http.Connection.RemoteIpAddress = IPAddress.Parse(address);
        return http;
    }

    [Theory]
    [InlineData("127.0.0.1", new string[0], true)]
    [InlineData("::1", new string[0], true)]
    [InlineData("172.17.0.1", new string[0], false)]
    [InlineData("172.17.0.1", new[] { "172.17.0.0/16" }, true)]
    [InlineData("::ffff:172.17.0.1", new[] { "172.17.0.0/16" }, true)]
    [InlineData("10.1.2.3", new[] { "172.17.0.0/16" }, false)]
    public void GivenACaller_WhenAskedWhetherItIsLocal_ThenOnlyLoopbackAndConfiguredNetworksAre(string address, string[] networks, bool local)
    {
        Assert.Equal(local, Loopback.IsLocal(Caller(address, networks)));
    }

    [Fact]
    public async Task GivenALocalNetworkThatIsNotCidr_WhenTheServerStarts_ThenStartupFailsNamingIt()
    {
        var error = await Assert.ThrowsAnyAsync<OptionsValidationException>(() => RunningServer.StartAsync(
            new Dictionary<string, string?> { ["Hosting:LocalNetworks:0"] = "the docker bridge" }, TestContext.Current.CancellationToken));

        Assert.Contains("Hosting:LocalNetworks: 'the docker bridge' is not a network in CIDR form", error.Message, StringComparison.Ordinal);
    }
}
