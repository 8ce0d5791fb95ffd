using Hl7.Fhir.Model;

namespace HealthRec.Fhir.Sources;

/// <summary>What one FHIR query returned: its resources, or why it could not be answered.</summary>
public sealed record FhirQueryResult(IReadOnlyList<Resource> Resources, string? Failure)
{
    public bool Succeeded => Failure is null;
}

/// <summary>
/// Runs one FHIR read or search (a rendered CDS Hooks prefetch template, relative to the client's FHIR base URL) with
/// the client's bearer token, following the searchset's <c>next</c> links on the same server. A read that finds
/// nothing (404) is "no data"; any other failure is returned, never thrown, so that the caller can answer 412. The
/// token is sent, never logged or put in a failure message.
/// </summary>
public sealed class FhirQueryClient(HttpClient http)
{
    /// <summary>Pages followed at most for one query: a server that keeps answering with more is cut off there.</summary>
    public const int MaxPages = 100;

    public async Task<FhirQueryResult> GetAsync(Uri baseUrl, string relativeQuery, string? bearerToken, IngestionReport report,
        CancellationToken cancellationToken)
    {
        var root = new Uri(baseUrl.AbsoluteUri.EndsWith('/') ? baseUrl.AbsoluteUri : baseUrl.AbsoluteUri + "/");
        var url = new Uri(root, relativeQuery.TrimStart('/'));
        var what = relativeQuery.Split('?')[0];
        var resources = new List<Resource>();
        for (var page = 0; page < MaxPages; page++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/fhir+json"));
            if (bearerToken is { Length: > 0 })
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearerToken);
            }

            byte[] body;
            HttpStatusCode status;
            try
            {
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                status = response.StatusCode;
                body = response.IsSuccessStatusCode ? await response.Content.ReadAsByteArrayAsync(cancellationToken) : [];
            }
            catch (HttpRequestException ex)
            {
                return new FhirQueryResult([], $"{what}: the FHIR server could not be reached ({ex.HttpRequestError})");
            }

            if (status == HttpStatusCode.NotFound && page == 0 && !relativeQuery.Contains('?', StringComparison.Ordinal))
            {
                return new FhirQueryResult([], null);
            }

            if ((int)status is < 200 or > 299)
            {
                return new FhirQueryResult([], $"{what}: the FHIR server answered HTTP {(int)status}");
            }

            var where = $"{what} (fhirServer)";
            switch (FhirJson.TryParse(body, where, report))
            {
                case null:
                    return new FhirQueryResult([], $"{what}: the FHIR server's answer is not a FHIR resource");
                case OperationOutcome:
                    return new FhirQueryResult([], $"{what}: the FHIR server answered with an OperationOutcome");
                case Bundle bundle:
                    foreach (var entry in bundle.Entry)
                    {
                        if (entry.Resource is OperationOutcome)
                        {
                            report.Problem(ProblemKind.OperationOutcome, where, "the server returned an OperationOutcome in the results");
                        }
                        else if (entry.Resource is { } resource)
                        {
                            resources.Add(resource);
                        }
                    }

                    // Paging stays on the server the client named: a next link elsewhere is not followed.
                    if (!FhirPaging.TryNext(root, url, bundle, out var nextUrl, out var elsewhere))
                    {
                        return new FhirQueryResult([], FhirPaging.Elsewhere(what, elsewhere!));
                    }

                    if (nextUrl is null)
                    {
                        return new FhirQueryResult(resources, null);
                    }

                    url = nextUrl;
                    break;
                case var single:
                    resources.Add(single);
                    return new FhirQueryResult(resources, null);
            }
        }

        return new FhirQueryResult([], $"{what}: more than {MaxPages} pages");
    }
}
