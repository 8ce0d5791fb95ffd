using System.Net;

namespace HealthRec.Server.Hosting;

/// <summary>What "this machine" means to the server: loopback callers and loopback URLs.</summary>
internal static class Loopback
{
    /// <summary>Whether the request comes from this machine.</summary>
    public static bool IsLocal(HttpContext http) => http.Connection.RemoteIpAddress is { } remote && IPAddress.IsLoopback(remote);

    /// <summary>Whether a URL names this machine (<c>localhost</c>, 127.0.0.0/8, <c>[::1]</c>).</summary>
    public static bool IsLoopbackUrl(Uri url) =>
        url.IsLoopback || (IPAddress.TryParse(url.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

    /// <summary>https, or plain http to this machine: what a server holding health data may be reached over.</summary>
    public static bool IsHttpsOrLoopback(Uri url) =>
        url.Scheme == Uri.UriSchemeHttps || (url.Scheme == Uri.UriSchemeHttp && IsLoopbackUrl(url));
}
