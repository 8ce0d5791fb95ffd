namespace HealthRec.Server.CdsHooks;

/// <summary>The patient's data for one call, or why it could not be had (answered with 412).</summary>
internal sealed record HookDataResult(PatientResources? Resources, IReadOnlyList<string> Missing, string Source, IngestionReport Report)
{
    public bool Complete => Missing.Count == 0;

    /// <summary>The queries made on the call's <c>fhirServer</c> (for the audit trail), each with why it failed, if it did.</summary>
    public IReadOnlyList<FhirQueryMade> Queries { get; init; } = [];
}

/// <summary>A read or search HealthRec made on a FHIR server, and its failure (null when it succeeded).</summary>
internal sealed record FhirQueryMade(Uri Server, string Query, string? Failure);

/// <summary>
/// The data a service needs for one call, per prefetch key of its definition (CDS Hooks 2.0, "Providing FHIR
/// Resources"): a key the client prefetched is used; <c>null</c> is "no data"; a key that is absent, or holds an
/// OperationOutcome (the client could not get the data) or something unreadable, is fetched from <c>fhirServer</c> with
/// the call's bearer token — every such key at once, within one deadline well inside the hook's budget. Every key is
/// needed to score honestly (a missing medication list would read as "not on a statin"), so a key that can be neither
/// prefetched nor fetched makes the call unanswerable: 412, naming the keys — except the allergy list, which only the
/// medication-safety checks read: without it the call is answered, the record says the list is unavailable and why, and
/// every medicine's card says its allergies were not checked (no medicine is suggested).
/// </summary>
internal sealed partial class HookDataResolver(FhirQueryClient fhir, TimeProvider time)
{
    /// <summary>Resource types whose list a call can do without: the checks that read them say they could not.</summary>
    internal static readonly IReadOnlySet<string> OptionalTypes = new HashSet<string>(["AllergyIntolerance"], StringComparer.Ordinal);

    public async Task<HookDataResult> ResolveAsync(CdsRequest request, CdsServiceDefinition service, TimeSpan deadline, CancellationToken cancellationToken)
    {
        var report = new IngestionReport();
        var reader = new PrefetchReader(report);
        var toFetch = new List<(string Key, string Query)>();
        var missing = new List<string>();
        var unavailable = new Dictionary<string, string>(StringComparer.Ordinal);
        var typeOfKey = (service.Prefetch ?? new Dictionary<string, string>()).ToDictionary(p => p.Key, p => ResourceType(p.Value), StringComparer.Ordinal);
        void Missing(string key, string why)
        {
            if (OptionalTypes.Contains(typeOfKey[key]))
            {
                unavailable[typeOfKey[key]] = $"prefetch '{key}': {why}";
            }
            else
            {
                missing.Add($"{key} ({why})");
            }
        }

        // What a prefetched key held that could not be used as it is, to say why it is missing.
        var unusable = new Dictionary<string, PrefetchValue>(StringComparer.Ordinal);
        foreach (var (key, template) in service.Prefetch ?? new Dictionary<string, string>())
        {
            var held = request.Prefetch?.GetValueOrDefault(key) is { } read ? reader.Add(read) : (PrefetchValue?)null;
            if (held is PrefetchValue.Data or PrefetchValue.NoData)
            {
                continue;
            }

            if (held is { } kind)
            {
                // One page of several, an OperationOutcome or unreadable JSON is not the patient's data: read the key from
                // the FHIR server, or count it as missing and say which it was.
                unusable[key] = kind;
            }

            if (Render(template, request) is not { } query)
            {
                Missing(key, "its template names a context field this call does not have");
            }
            else
            {
                toFetch.Add((key, WithPageSize(query)));
            }
        }

        if (toFetch.Count > 0 && request.FhirServer is null)
        {
            foreach (var (key, _) in toFetch)
            {
                Missing(key, unusable.GetValueOrDefault(key) switch
                {
                    PrefetchValue.Partial => "prefetched as one page of a paged search (its Bundle has a next link), and the call gives no fhirServer to read the rest from",
                    PrefetchValue.OperationOutcome => "prefetched as an OperationOutcome (the client could not get the data), and the call gives no fhirServer to read it from",
                    PrefetchValue.Invalid => $"prefetched, but not FHIR HealthRec can read ({ProblemWith(report, key)}), and the call gives no fhirServer to read it from",
                    _ => "not prefetched, and the call gives no fhirServer to read it from",
                });
            }

            toFetch.Clear();
        }

        if (toFetch.Count == 0)
        {
            return new HookDataResult(missing.Count == 0 ? reader.Finish(request.PatientId) with { Unavailable = unavailable } : null, missing, "prefetch", report);
        }

        using var budget = new CancellationTokenSource(deadline, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, budget.Token);
        var token = request.Authorization?.AccessToken;
        var fetches = toFetch.Select(async f =>
        {
            try
            {
                return (f.Key, Result: await fhir.GetAsync(request.FhirServer!, f.Query, token, report, linked.Token));
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return (f.Key, Result: new FhirQueryResult([], $"no answer within {deadline.TotalMilliseconds:0} ms"));
            }
        }).ToList();

        var results = await Task.WhenAll(fetches);
        var queries = toFetch.Zip(results, (f, r) => new FhirQueryMade(request.FhirServer!, f.Query, r.Result.Failure)).ToList();
        foreach (var (key, result) in results)
        {
            if (result.Succeeded)
            {
                reader.Add($"{key} (fhirServer)", result.Resources);
            }
            else
            {
                Missing(key, result.Failure!);
            }
        }

        var source = toFetch.Count == (service.Prefetch?.Count ?? 0)
            ? "fhirServer"
            : $"prefetch, fhirServer for {string.Join(", ", toFetch.Select(f => f.Key))}";
        return new HookDataResult(missing.Count == 0 ? reader.Finish(request.PatientId, source) with { Unavailable = unavailable } : null, missing, source, report)
        {
            Queries = queries,
        };
    }

    // The resource type a prefetch template asks for: "AllergyIntolerance?patient=..." or "Patient/{{...}}".
    private static string ResourceType(string template) => template.Split('?', '/')[0];

    // The first problem the reader reported for a prefetch key (PrefetchReader names it "prefetch '<key>'").
    private static string ProblemWith(IngestionReport report, string key) =>
        report.AllExamples.FirstOrDefault(p => p.Where.StartsWith($"prefetch '{key}'", StringComparison.Ordinal))?.Message ?? "see the problems reported";

    /// <summary>
    /// The template with its prefetch tokens replaced (CDS Hooks 2.0, "Prefetch tokens"): <c>{{context.name}}</c> by a
    /// first-level primitive context field, <c>{{userPractitionerId}}</c> and its kin from <c>context.userId</c>; each
    /// value is URL-escaped. Null when a token has no value in this call.
    /// </summary>
    internal static string? Render(string template, CdsRequest request)
    {
        var failed = false;
        var rendered = Token().Replace(template, match =>
        {
            var name = match.Groups[1].Value.Trim();
            var value = name.StartsWith("context.", StringComparison.Ordinal)
                ? request.ContextValue(name["context.".Length..])
                : UserId(request.UserId, name);
            if (value is null)
            {
                failed = true;
                return "";
            }

            return Uri.EscapeDataString(value);
        });
        return failed ? null : rendered;
    }

    // A search without _count is paged by the server's default (often 20): ask for bigger pages, same results.
    private static string WithPageSize(string query) =>
        query.Contains('?', StringComparison.Ordinal) && !query.Contains("_count=", StringComparison.Ordinal) ? query + "&_count=200" : query;

    private static string? UserId(string userId, string token)
    {
        var type = token switch
        {
            "userPractitionerId" => "Practitioner",
            "userPractitionerRoleId" => "PractitionerRole",
            "userPatientId" => "Patient",
            "userRelatedPersonId" => "RelatedPerson",
            _ => null,
        };
        var prefix = type + "/";
        return type is not null && userId.StartsWith(prefix, StringComparison.Ordinal) ? userId[prefix.Length..] : null;
    }

    [GeneratedRegex(@"\{\{([^{}]+)\}\}")]
    private static partial Regex Token();

    internal static string Describe(IReadOnlyList<string> missing)
    {
        var text = new StringBuilder("The patient's data could not be had, so no estimate is given: ");
        text.AppendJoin("; ", missing);
        return text.ToString();
    }
}
