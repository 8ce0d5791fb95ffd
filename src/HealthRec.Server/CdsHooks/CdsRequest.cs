namespace HealthRec.Server.CdsHooks;

/// <summary>The <c>fhirAuthorization</c> of a call: the token is used for the call's FHIR reads and then forgotten.</summary>
internal sealed record FhirAuthorization(string AccessToken, string Scope, string Subject, string? Patient)
{
    // Never in a log line, an exception or a stored record.
    public override string ToString() => $"FhirAuthorization {{ Scope = {Scope}, Subject = {Subject} }}";
}

/// <summary>A validated CDS Hooks call (CDS Hooks 2.0, "Calling a CDS Service"), with its context's fields as strings.</summary>
internal sealed record CdsRequest(
    string Hook,
    string HookInstance,
    Uri? FhirServer,
    FhirAuthorization? Authorization,
    string PatientId,
    string UserId,
    string? EncounterId,
    JsonElement Context,
    IReadOnlyDictionary<string, HealthRec.Fhir.Sources.PrefetchedKey>? Prefetch)
{
    /// <summary>Draft orders of order-sign / order-select (a Bundle).</summary>
    public JsonElement? DraftOrders => Context.TryGetProperty("draftOrders", out var orders) ? orders : null;

    /// <summary>The order-select <c>selections</c>: references to the orders just selected.</summary>
    public IReadOnlyList<string> Selections => Context.TryGetProperty("selections", out var s) && s.ValueKind == JsonValueKind.Array
        ? [.. s.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!)]
        : [];

    /// <summary>A first-level primitive context field as the prefetch token <c>{{context.name}}</c> reads it.</summary>
    public string? ContextValue(string name) => Context.TryGetProperty(name, out var value) ? value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
        _ => null,
    } : null;
}

/// <summary>
/// Reads and checks a call's JSON against the specification and the hook's context: every problem is collected, so
/// that a bad request gets one 400 that says everything that is wrong with it.
/// </summary>
internal static partial class CdsRequestReader
{
    // Context fields per hook: required ones, and which of them must be strings (CDS Hooks hook definitions, STU1 R4).
    private static readonly Dictionary<string, (string[] Required, string[] Optional)> ContextFields = new(StringComparer.Ordinal)
    {
        ["patient-view"] = (["userId", "patientId"], ["encounterId"]),
        ["order-sign"] = (["userId", "patientId", "draftOrders"], ["encounterId"]),
        ["order-select"] = (["userId", "patientId", "selections", "draftOrders"], ["encounterId"]),
    };

    public static CdsRequest? Read(CdsBody call, IReadOnlyList<CdsServiceDefinition> service, List<string> problems, int maxDraftOrders = int.MaxValue)
    {
        var body = call.Root;
        if (body.ValueKind != JsonValueKind.Object)
        {
            problems.Add("the request body must be a JSON object");
            return null;
        }

        foreach (var property in body.EnumerateObject())
        {
            // JSON elements SHALL NOT be null (CDS Hooks 2.0, "Use of JSON"), and extensions are objects.
            if (property.Value.ValueKind == JsonValueKind.Null && property.Name != "prefetch")
            {
                problems.Add($"'{property.Name}' is null; omit an attribute that has no value");
            }
        }

        var hook = String(body, "hook", problems, required: true);
        var hookInstance = String(body, "hookInstance", problems, required: true);
        if (hook is not null && !service.Any(s => string.Equals(s.Hook, hook, StringComparison.Ordinal)))
        {
            problems.Add($"'hook' is '{hook}', but this service answers {string.Join(", ", service.Select(s => $"'{s.Hook}'"))}");
        }

        if (hookInstance is not null && !Guid.TryParseExact(hookInstance, "D", out _))
        {
            problems.Add("'hookInstance' must be a UUID (e.g. d1577c69-dfbe-44ad-ba6d-3e05e953b2ea)");
        }

        var fhirServer = FhirServer(body, problems);
        var authorization = Authorization(body, problems);
        if (authorization is not null && fhirServer is null && !problems.Any(p => p.StartsWith("'fhirServer'", StringComparison.Ordinal)))
        {
            problems.Add("'fhirServer' is required when 'fhirAuthorization' is given");
        }

        if (body.TryGetProperty("prefetch", out var p) && p.ValueKind != JsonValueKind.Object)
        {
            problems.Add("'prefetch' must be an object of prefetch keys");
        }

        if (!body.TryGetProperty("context", out var context) || context.ValueKind != JsonValueKind.Object)
        {
            problems.Add("'context' is required and must be an object");
            return null;
        }

        if (hook is null || !ContextFields.TryGetValue(hook, out var fields))
        {
            return null;
        }

        foreach (var name in fields.Required)
        {
            if (!context.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                problems.Add($"'context.{name}' is required for {hook}");
            }
        }

        var patientId = ContextString(context, "patientId", problems);
        var userId = ContextString(context, "userId", problems);
        var encounterId = context.TryGetProperty("encounterId", out _) ? ContextString(context, "encounterId", problems) : null;
        if (patientId is not null && !FhirId().IsMatch(patientId))
        {
            problems.Add("'context.patientId' must be a FHIR id (letters, digits, '-' and '.', at most 64)");
        }

        if (context.TryGetProperty("draftOrders", out var orders) && orders.ValueKind != JsonValueKind.Null)
        {
            if (orders.ValueKind != JsonValueKind.Object || !orders.TryGetProperty("resourceType", out var type)
                || type.ValueKind != JsonValueKind.String || type.GetString() != "Bundle")
            {
                problems.Add("'context.draftOrders' must be a FHIR Bundle of the draft orders");
            }
            else if (orders.TryGetProperty("entry", out var entry) && entry.ValueKind != JsonValueKind.Array)
            {
                problems.Add("'context.draftOrders.entry' must be an array of the draft orders");
            }
            else if (orders.TryGetProperty("entry", out var drafts) && drafts.GetArrayLength() > maxDraftOrders)
            {
                problems.Add($"'context.draftOrders' holds {drafts.GetArrayLength()} entries: at most {maxDraftOrders} are checked in one call (setting CdsHooks:MaxDraftOrders)");
            }
        }

        var references = DraftReferences(context, patientId, problems);
        if (hook == "order-select" && context.TryGetProperty("selections", out var selections) && selections.ValueKind != JsonValueKind.Null)
        {
            if (selections.ValueKind != JsonValueKind.Array || selections.GetArrayLength() == 0
                || selections.EnumerateArray().Any(s => s.ValueKind != JsonValueKind.String || s.GetString() is not { Length: > 0 }))
            {
                problems.Add("'context.selections' must be a non-empty array of references to draft orders (e.g. \"MedicationRequest/103\")");
            }
            else if (references is not null)
            {
                // A selection the draft orders do not hold would be checked by nobody, and its silence read as "fine".
                foreach (var missing in selections.EnumerateArray().Select(s => s.GetString()!).Where(s => !references.Any(r => SelectionNames(s, r))))
                {
                    problems.Add($"'context.selections' names '{missing}', which is not among the entries of 'context.draftOrders'");
                }
            }
        }

        return problems.Count > 0 || patientId is null || userId is null
            ? null
            : new CdsRequest(hook, hookInstance!, fhirServer, authorization, patientId, userId, encounterId, context, call.Prefetch);
    }

    /// <summary>Whether an order-select selection names a draft order (<c>MedicationRequest/103</c>, or an absolute URL ending in it).</summary>
    public static bool SelectionNames(string selection, string draftReference) =>
        string.Equals(selection, draftReference, StringComparison.Ordinal) || selection.EndsWith($"/{draftReference}", StringComparison.Ordinal);

    /// <summary>
    /// The <c>Type/id</c> of each draft order in <c>context.draftOrders</c> (null when there is no readable Bundle), each
    /// checked to be for the context's patient: a draft for another patient checked against this one's record would
    /// answer for the wrong person.
    /// </summary>
    private static List<string>? DraftReferences(JsonElement context, string? patientId, List<string> problems)
    {
        if (!context.TryGetProperty("draftOrders", out var orders) || orders.ValueKind != JsonValueKind.Object
            || !orders.TryGetProperty("entry", out var entries) || entries.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        var references = new List<string>();
        foreach (var entry in entries.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("resource", out var resource) || resource.ValueKind != JsonValueKind.Object
                || !resource.TryGetProperty("resourceType", out var type) || type.ValueKind != JsonValueKind.String)
            {
                continue; // said on the answer's "could not be read" card
            }

            var reference = resource.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String ? $"{type.GetString()}/{id.GetString()}" : type.GetString()!;
            references.Add(reference);
            foreach (var field in new[] { "subject", "patient" })
            {
                if (patientId is not null && resource.TryGetProperty(field, out var subject) && subject.ValueKind == JsonValueKind.Object
                    && subject.TryGetProperty("reference", out var to) && to.ValueKind == JsonValueKind.String
                    && to.GetString()!.Split("/_history/")[0] is var target && target.Contains("Patient/", StringComparison.Ordinal)
                    && !target.EndsWith($"Patient/{patientId}", StringComparison.Ordinal))
                {
                    problems.Add($"'context.draftOrders': {reference} is for {target}, not the context's patient '{patientId}'");
                }
            }
        }

        return references;
    }

    private static Uri? FhirServer(JsonElement body, List<string> problems)
    {
        if (String(body, "fhirServer", problems, required: false) is not { } text)
        {
            return null;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp)
            || !string.IsNullOrEmpty(url.Query) || !string.IsNullOrEmpty(url.Fragment) || !string.IsNullOrEmpty(url.UserInfo))
        {
            problems.Add("'fhirServer' must be an absolute https URL of a FHIR base, without query, fragment or user info");
            return null;
        }

        // The specification requires https for production data; plain http is only for a server on this machine.
        if (!Hosting.Loopback.IsHttpsOrLoopback(url))
        {
            problems.Add("'fhirServer' must use https (plain http is accepted only for a loopback server)");
            return null;
        }

        return url;
    }

    private static FhirAuthorization? Authorization(JsonElement body, List<string> problems)
    {
        if (!body.TryGetProperty("fhirAuthorization", out var auth) || auth.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (auth.ValueKind != JsonValueKind.Object)
        {
            problems.Add("'fhirAuthorization' must be an object");
            return null;
        }

        var local = new List<string>();
        var token = String(auth, "access_token", local, required: true, prefix: "fhirAuthorization.");
        var type = String(auth, "token_type", local, required: true, prefix: "fhirAuthorization.");
        var scope = String(auth, "scope", local, required: true, prefix: "fhirAuthorization.");
        var subject = String(auth, "subject", local, required: true, prefix: "fhirAuthorization.");
        var patient = String(auth, "patient", local, required: false, prefix: "fhirAuthorization.");
        if (!auth.TryGetProperty("expires_in", out var expires) || expires.ValueKind != JsonValueKind.Number || !expires.TryGetInt64(out _))
        {
            local.Add("'fhirAuthorization.expires_in' is required and must be an integer number of seconds");
        }

        if (type is not null && !string.Equals(type, "Bearer", StringComparison.OrdinalIgnoreCase))
        {
            local.Add("'fhirAuthorization.token_type' must be 'Bearer'");
        }

        problems.AddRange(local);
        return local.Count == 0 ? new FhirAuthorization(token!, scope!, subject!, patient) : null;
    }

    private static string? String(JsonElement obj, string name, List<string> problems, bool required, string prefix = "")
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                problems.Add($"'{prefix}{name}' is required");
            }

            return null;
        }

        if (value.ValueKind != JsonValueKind.String || value.GetString() is not { Length: > 0 } text || string.IsNullOrWhiteSpace(text))
        {
            problems.Add($"'{prefix}{name}' must be a non-empty string");
            return null;
        }

        return text;
    }

    private static string? ContextString(JsonElement context, string name, List<string> problems) =>
        context.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? String(context, name, problems, required: true, prefix: "context.")
            : null;

    [GeneratedRegex("^[A-Za-z0-9\\-\\.]{1,64}$")]
    private static partial Regex FhirId();
}
