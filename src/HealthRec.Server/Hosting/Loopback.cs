namespace HealthRec.Server.Hosting;

/// <summary>Settings under <c>Hosting</c>.</summary>
public sealed class HostingOptions : IValidatableObject
{
    public const string Section = "Hosting";

    /// <summary>
    /// Networks (CIDR, e.g. <c>172.17.0.0/16</c>, Docker's default bridge) whose callers count as this machine: the
    /// local operator of the embedded default (CDS calls without a JWT when no client is configured, the staff pages
    /// without sign-in). For a container on a laptop, where port mapping makes every caller the bridge's gateway; never
    /// for a server others can reach. Empty (default): loopback only.
    /// </summary>
    public List<string> LocalNetworks { get; set; } = [];

    private IReadOnlyList<IPNetwork>? _networks;

    /// <summary><see cref="LocalNetworks"/> parsed, once (they are validated at start).</summary>
    internal IReadOnlyList<IPNetwork> Networks => _networks ??= [.. LocalNetworks.Select(n => IPNetwork.TryParse(n, out var network) ? network : (IPNetwork?)null).OfType<IPNetwork>()];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var network in LocalNetworks.Where(n => !IPNetwork.TryParse(n, out _)))
        {
            yield return new ValidationResult($"Hosting:LocalNetworks: '{network}' is not a network in CIDR form (e.g. 172.17.0.0/16)");
        }
    }
}

/// <summary>What "this machine" means to the server: loopback callers (and those of <see cref="HostingOptions.LocalNetworks"/>) and loopback URLs.</summary>
internal static class Loopback
{
    /// <summary>Whether the request comes from this machine, or from a network configured as local.</summary>
    public static bool IsLocal(HttpContext http)
    {
        if (http.Connection.RemoteIpAddress is not { } remote)
        {
            return false;
        }

        if (IPAddress.IsLoopback(remote))
        {
            return true;
        }

        var address = remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote;
        var networks = http.RequestServices?.GetService<IOptions<HostingOptions>>()?.Value.Networks ?? [];
        return networks.Any(n => n.Contains(address));
    }

    /// <summary>Whether a URL names this machine (<c>localhost</c>, 127.0.0.0/8, <c>[::1]</c>).</summary>
    public static bool IsLoopbackUrl(Uri url) =>
        url.IsLoopback || (IPAddress.TryParse(url.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

    /// <summary>https, or plain http to this machine: what a server holding health data may be reached over.</summary>
    public static bool IsHttpsOrLoopback(Uri url) =>
        url.Scheme == Uri.UriSchemeHttps || (url.Scheme == Uri.UriSchemeHttp && IsLoopbackUrl(url));
}
