namespace HealthRec.Fhir.Sources;

/// <summary>
/// Where a searchset's <c>next</c> link may be followed: on the server the caller named (same scheme, host and port),
/// never elsewhere — the bearer token goes with every page, and a page that cannot be had leaves the list incomplete,
/// which is said, never used as if whole.
/// </summary>
public static class FhirPaging
{
    /// <summary>
    /// The page after <paramref name="page"/>: <paramref name="next"/> null when it is the last; false (with the other
    /// server's address in <paramref name="elsewhere"/>) when its next link leaves <paramref name="server"/>.
    /// </summary>
    public static bool TryNext(Uri server, Uri current, Hl7.Fhir.Model.Bundle page, out Uri? next, out string? elsewhere)
    {
        ArgumentNullException.ThrowIfNull(page);
        next = null;
        elsewhere = null;
        var link = page.Link.FirstOrDefault(l => string.Equals(l.Relation, "next", StringComparison.Ordinal))?.Url;
        if (link is null)
        {
            return true;
        }

        var followed = TryFollow(server, current, link, out var url, out elsewhere);
        next = followed ? url : null;
        return followed;
    }

    // The absolute URL of the next page, when it is on the same server as the one named.
    private static bool TryFollow(Uri server, Uri current, string next, out Uri nextUrl, out string? elsewhere)
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
