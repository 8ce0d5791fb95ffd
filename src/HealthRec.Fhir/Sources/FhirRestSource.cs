using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Task = System.Threading.Tasks.Task;

namespace HealthRec.Fhir.Sources;

public sealed record FhirRestSourceOptions
{
    /// <summary>An OAuth 2.0 bearer token sent with every request; never logged or reported.</summary>
    public string? BearerToken { get; init; }

    /// <summary>Read only these patients; when empty, every Patient the server lists.</summary>
    public IReadOnlyList<string> PatientIds { get; init; } = [];

    public int PageSize { get; init; } = 100;

    /// <summary>Patients fetched at once; each patient's per-type searches also run concurrently.</summary>
    public int ConcurrentPatients { get; init; } = 4;

    /// <summary>Time allowed for the whole read; the caller's cancellation also stops it.</summary>
    public TimeSpan? Deadline { get; init; }
}

/// <summary>
/// A FHIR R4 REST server: lists patients (or takes the given ids) and, per patient, searches each resource type
/// HealthRec reads by <c>patient=</c>, following <c>next</c> links on the same server (<see cref="FhirPaging"/>). A search
/// that fails, or whose next page is on another server, is reported for that patient and type and its list counts as
/// unavailable; an unreachable server, or a patient list paged onto another server, stops the read with its exception.
/// </summary>
public sealed class FhirRestSource(HttpClient httpClient, Uri baseUrl, FhirRestSourceOptions? options = null) : IPatientSource
{
    /// <summary>The types searched per patient, with the search parameter that names the patient.</summary>
    public static readonly IReadOnlyList<string> PatientTypes =
        ["Observation", "Condition", "MedicationStatement", "MedicationRequest", "Encounter", "QuestionnaireResponse", "DiagnosticReport", "AllergyIntolerance"];

    private readonly FhirRestSourceOptions _options = options ?? new FhirRestSourceOptions();

    public async IAsyncEnumerable<PatientResources> ReadAsync(IngestionReport report, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (_options.Deadline is { } limit)
        {
            deadline.CancelAfter(limit);
        }

        var client = CreateClient();
        var batch = new List<string>();
        await foreach (var patientId in PatientIdsAsync(client, deadline.Token))
        {
            batch.Add(patientId);
            if (batch.Count == _options.ConcurrentPatients)
            {
                foreach (var group in await Task.WhenAll(batch.Select(id => FetchAsync(client, id, report, deadline.Token))))
                {
                    yield return group;
                }

                batch.Clear();
            }
        }

        foreach (var group in await Task.WhenAll(batch.Select(id => FetchAsync(client, id, report, deadline.Token))))
        {
            yield return group;
        }
    }

    private FhirClient CreateClient()
    {
        var client = new FhirClient(baseUrl, httpClient, new FhirClientSettings { PreferredFormat = ResourceFormat.Json, VerifyFhirVersion = false });
        if (_options.BearerToken is { Length: > 0 } token)
        {
            client.RequestHeaders!.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    private async IAsyncEnumerable<string> PatientIdsAsync(FhirClient client, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (_options.PatientIds.Count > 0)
        {
            foreach (var id in _options.PatientIds)
            {
                yield return id;
            }

            yield break;
        }

        var page = await client.SearchAsync<Patient>([], pageSize: _options.PageSize, ct: cancellationToken);
        while (page is not null)
        {
            foreach (var patient in page.Entry.Select(e => e.Resource).OfType<Patient>())
            {
                if (patient.Id is { Length: > 0 } id)
                {
                    yield return id;
                }
            }

            if (!OnThisServer(page, out var elsewhere))
            {
                // The list of patients cannot be had whole: the read stops, as when the server cannot be reached.
                throw new InvalidOperationException(FhirPaging.Elsewhere("the Patient list", elsewhere!));
            }

            page = await client.ContinueAsync(page, ct: cancellationToken);
        }
    }

    // A page with no next link is the last; one whose next link leaves this server is not followed (the token would go with it).
    private bool OnThisServer(Bundle page, out string? elsewhere) => FhirPaging.TryNext(baseUrl, baseUrl, page, out _, out elsewhere);

    private async Task<PatientResources> FetchAsync(FhirClient client, string patientId, IngestionReport report, CancellationToken cancellationToken)
    {
        var origin = $"{baseUrl.Host}:{baseUrl.Port}";
        var refused = 0;
        var patientTask = ReadPatientAsync(client, patientId, report, origin, () => Interlocked.Exchange(ref refused, 1), cancellationToken);
        var searches = PatientTypes.Select(type => SearchAllAsync(client, type, patientId, report, origin, () => Interlocked.Exchange(ref refused, 1), cancellationToken)).ToList();
        var resources = new List<Resource>();
        if (await patientTask is { } patient)
        {
            report.ResourceRead(patient.TypeName);
            resources.Add(patient);
        }

        var unavailable = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (type, found, failure) in await Task.WhenAll(searches))
        {
            foreach (var resource in found)
            {
                report.ResourceRead(resource.TypeName);
                resources.Add(resource);
            }

            if (failure is not null)
            {
                unavailable[type] = failure;
            }
        }

        return new PatientResources(patientId, resources, origin) { Unavailable = unavailable, Refused = Volatile.Read(ref refused) == 1 };
    }

    private static async Task<Patient?> ReadPatientAsync(FhirClient client, string patientId, IngestionReport report, string origin, Action refused,
        CancellationToken cancellationToken)
    {
        try
        {
            return await client.ReadAsync<Patient>($"Patient/{patientId}", ct: cancellationToken);
        }
        catch (FhirOperationException ex)
        {
            report.Problem(ProblemKind.SourceUnavailable, $"Patient/{patientId} ({origin})", $"read failed with HTTP {(int)ex.Status}");
            if (ex.Status is System.Net.HttpStatusCode.Unauthorized or System.Net.HttpStatusCode.Forbidden)
            {
                refused();
            }

            return null;
        }
    }

    // The resources found, and why the list is incomplete when a page of it could not be had (null when complete).
    private async Task<(string Type, List<Resource> Found, string? Failure)> SearchAllAsync(FhirClient client, string type, string patientId,
        IngestionReport report, string origin, Action refused, CancellationToken cancellationToken)
    {
        var found = new List<Resource>();
        try
        {
            var page = await client.SearchAsync(type, [$"patient={patientId}"], pageSize: _options.PageSize, ct: cancellationToken);
            while (page is not null)
            {
                foreach (var entry in page.Entry)
                {
                    if (entry.Resource is OperationOutcome)
                    {
                        report.Problem(ProblemKind.OperationOutcome, $"{type}?patient={patientId} ({origin})", "the server returned an OperationOutcome in the results");
                    }
                    else if (entry.Resource is { } resource && entry.Search?.Mode != Bundle.SearchEntryMode.Include)
                    {
                        found.Add(resource);
                    }
                }

                if (!OnThisServer(page, out var elsewhere))
                {
                    report.Problem(ProblemKind.SourceUnavailable, $"{type}?patient={patientId} ({origin})", $"the next page is on another server ({elsewhere}), not followed");
                    return (type, found, FhirPaging.Elsewhere($"the {type} search", elsewhere!));
                }

                page = await client.ContinueAsync(page, ct: cancellationToken);
            }
        }
        catch (FhirOperationException ex)
        {
            report.Problem(ProblemKind.SourceUnavailable, $"{type}?patient={patientId} ({origin})", $"search failed with HTTP {(int)ex.Status}");
            // 401: the token is not accepted at all. A 403 on one type is that type not permitted: the list is unavailable.
            if (ex.Status is System.Net.HttpStatusCode.Unauthorized)
            {
                refused();
            }

            return (type, found, $"the FHIR server refused the {type} search with HTTP {(int)ex.Status}");
        }

        return (type, found, null);
    }
}
