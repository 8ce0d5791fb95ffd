namespace HealthRec.Fhir.Sources;

/// <summary>
/// Where a searchset's <c>next</c> link may be followed: on the server the caller named (same scheme, host and port),
/// never elsewhere — the bearer token goes with every page, and a page that cannot be had leaves the list incomplete,
/// which is said, never used as if whole.
/// </summary>
public static class FhirPaging
{
    /// <summary>The absolute URL of the next page, when it is on the same server as <paramref name="server"/>.</summary>
    public static bool TryFollow(Uri server, Uri current, string next, out Uri nextUrl, out string? elsewhere)
    {
        ArgumentNullException.ThrowIfNull(server);
        elsewhere = null;
        if (!Uri.TryCreate(current, next, out nextUrl!) || !nextUrl.IsAbsoluteUri)
        {
            elsewhere = "an unreadable address";
            return false;
        }

        if (!string.Equals(nextUrl.GetLeftPart(UriPartial.Authority), server.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase))
        {
            // The server's address only (no path or query: those may name the patient).
            elsewhere = nextUrl.GetLeftPart(UriPartial.Authority);
            return false;
        }

        return true;
    }

    /// <summary>Why a list stops short: its next page is on another server, named by its address.</summary>
    public static string Elsewhere(string what, string where) =>
        $"{what}: the FHIR server's next page is on another server ({where}), which is not followed";
}
