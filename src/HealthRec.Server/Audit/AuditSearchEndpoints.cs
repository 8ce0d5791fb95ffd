using Microsoft.Extensions.Primitives;

namespace HealthRec.Server.Audit;

/// <summary>
/// The audit trail as FHIR search: <c>GET /audit/AuditEvent</c> and <c>GET /audit/GuidanceResponse</c> answer searchset
/// Bundles, newest first, paged by a cursor in the <c>next</c> link (stable while records are appended), with
/// <c>total</c>. Parameters: <c>patient</c>, <c>date</c> (prefixes eq, ge, gt, le, lt; a date without a zone is UTC),
/// <c>agent</c>, <c>entity</c>, <c>action</c>, <c>outcome</c>, <c>type</c>, <c>subtype</c>, <c>request</c> (the request id, or
/// the GuidanceResponse's hookInstance), <c>status</c> (GuidanceResponse), <c>_count</c> (≤ 1000).
/// Comma-separated values are alternatives; a repeated parameter must hold for each. <c>_format=ndjson</c> exports every
/// match, oldest first, as NDJSON. An unknown parameter or a malformed value is a 400 naming it.
/// </summary>
public static class AuditSearchEndpoints
{
    private const int DefaultCount = 50;
    private const int MaxCount = 1000;

    private static readonly Dictionary<string, string[]> Parameters = new(StringComparer.Ordinal)
    {
        ["AuditEvent"] = ["patient", "date", "agent", "entity", "action", "outcome", "type", "subtype", "request"],
        ["GuidanceResponse"] = ["patient", "date", "request", "status"],
    };

    public static WebApplication MapAuditSearch(this WebApplication app)
    {
        foreach (var type in Parameters.Keys)
        {
            app.MapGet($"/audit/{type}", (HttpContext http, AuditStore store, AuditWriter writer) => SearchAsync(type, http, store, writer))
                .WithTags("Audit").WithName($"Search{type}")
                .WithSummary($"FHIR search of the audit trail's {type}s: a searchset Bundle, newest first, paged; _format=ndjson exports every match (staff role Auditor).");
        }

        return app;
    }

    internal static async Task<IResult> SearchAsync(string type, HttpContext http, AuditStore store, AuditWriter writer)
    {
        // Read your writes: what this node has journalled is in the chain before it is searched.
        await writer.FlushAsync(http.RequestAborted);
        var (query, count, ndjson, problems) = Parse(type, http.Request.Query);
        if (problems.Count > 0)
        {
            return OperationOutcome(400, problems);
        }

        if (ndjson)
        {
            return new NdjsonExport(store, query);
        }

        var (page, total) = await store.SearchAsync(query, count, http.RequestAborted);
        return new SearchsetResult(http, type, page, total, count);
    }

    /// <summary>The store's query for the request's parameters, or what is wrong with them.</summary>
    internal static (AuditQuery Query, int Count, bool Ndjson, List<string> Problems) Parse(string type, IQueryCollection parameters)
    {
        var problems = new List<string>();
        var filters = new List<AuditFilter>();
        var ranges = new List<AuditRange>();
        var count = DefaultCount;
        long? before = null;
        var ndjson = false;
        foreach (var (name, values) in parameters)
        {
            switch (name)
            {
                case "_count":
                    if (!int.TryParse(values.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > MaxCount)
                    {
                        problems.Add($"_count must be a whole number from 1 to {MaxCount}, not '{values}'");
                    }

                    break;
                case "_cursor":
                    if (!long.TryParse(values.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var cursor))
                    {
                        problems.Add($"_cursor must be the number a next link gives, not '{values}'");
                    }

                    before = cursor;
                    break;
                case "_format":
                    ndjson = values.ToString() is "ndjson" or "application/fhir+ndjson" or "application/ndjson";
                    if (!ndjson && values.ToString() is not ("json" or "application/fhir+json" or "application/json"))
                    {
                        problems.Add($"_format must be json or ndjson, not '{values}'");
                    }

                    break;
                case "date":
                    foreach (var value in values)
                    {
                        if (DateRange(value) is { } range)
                        {
                            ranges.AddRange(range);
                        }
                        else
                        {
                            problems.Add($"date '{value}' is not a FHIR date or dateTime with an optional prefix (eq, ge, gt, le, lt), e.g. ge2026-12-01");
                        }
                    }

                    break;
                default:
                    // FHIR's :not modifier on a token parameter: records with none of the values (e.g. subtype:not=staff-routine).
                    var negated = name.EndsWith(":not", StringComparison.Ordinal) && name is not "patient:not" and not "agent:not";
                    var parameter = negated ? name[..^":not".Length] : name;
                    if (!Parameters[type].Contains(parameter, StringComparer.Ordinal))
                    {
                        problems.Add($"'{name}' is not a search parameter of {type} here; use {string.Join(", ", Parameters[type])} (a token with :not), _count or _format");
                        break;
                    }

                    foreach (var value in values.OfType<string>())
                    {
                        var alternatives = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                            .Select(v => v.StartsWith('|') ? v[1..] : v)
                            .Select(v => parameter == "patient" && v.StartsWith("Patient/", StringComparison.Ordinal) ? v["Patient/".Length..] : v).ToList();
                        if (alternatives.Count == 0)
                        {
                            problems.Add($"{name} has no value");
                        }
                        else
                        {
                            filters.Add(new AuditFilter(parameter, alternatives) { Negated = negated });
                        }
                    }

                    break;
            }
        }

        return (new AuditQuery(type) { Filters = filters, Ranges = ranges, Before = before }, count, ndjson, problems);
    }

    /// <summary>
    /// A date parameter as bounds on the indexed instant: the value covers a range as wide as its precision (a day, a
    /// month, a second); eq is within it, ge from its start, gt after its end, le before its end, lt before its start.
    /// </summary>
    internal static IReadOnlyList<AuditRange>? DateRange(string? parameter)
    {
        if (parameter is not { Length: >= 4 })
        {
            return null;
        }

        var prefix = char.IsLetter(parameter[0]) ? parameter[..2] : "eq";
        var text = char.IsLetter(parameter[0]) ? parameter[2..] : parameter;
        if (Span(text) is not { } span)
        {
            return null;
        }

        var (start, end) = (AuditEvents.Instant(span.Start), AuditEvents.Instant(span.End));
        return prefix switch
        {
            "eq" => [new("date", AuditBound.AtLeast, start), new("date", AuditBound.Below, end)],
            "ge" => [new("date", AuditBound.AtLeast, start)],
            "gt" => [new("date", AuditBound.AtLeast, end)],
            "le" => [new("date", AuditBound.Below, end)],
            "lt" => [new("date", AuditBound.Below, start)],
            _ => null,
        };
    }

    private static (DateTimeOffset Start, DateTimeOffset End)? Span(string text)
    {
        var styles = DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal;
        var invariant = CultureInfo.InvariantCulture;
        if (DateTimeOffset.TryParseExact(text, "yyyy", invariant, styles, out var year) && text.Length == 4)
        {
            return (year, year.AddYears(1));
        }

        if (DateTimeOffset.TryParseExact(text, "yyyy-MM", invariant, styles, out var month))
        {
            return (month, month.AddMonths(1));
        }

        if (DateTimeOffset.TryParseExact(text, "yyyy-MM-dd", invariant, styles, out var day))
        {
            return (day, day.AddDays(1));
        }

        if (text.Length >= 16 && text[10] == 'T' && DateTimeOffset.TryParse(text, invariant, styles, out var instant))
        {
            // Precision is the text's: to the minute, the second, or a fraction of it.
            var dot = text.IndexOf('.', 19 <= text.Length ? 19 : text.Length);
            var width = text.Length >= 19 && text[16] == ':'
                ? dot == 19 ? TimeSpan.FromTicks((long)Math.Pow(10, 7 - Math.Min(7, text[20..].TakeWhile(char.IsAsciiDigit).Count()))) : TimeSpan.FromSeconds(1)
                : TimeSpan.FromMinutes(1);
            return (instant, instant + width);
        }

        return null;
    }

    internal static IResult OperationOutcome(int status, IEnumerable<string> problems)
    {
        var outcome = new Hl7.Fhir.Model.OperationOutcome();
        foreach (var problem in problems)
        {
            outcome.Issue.Add(new Hl7.Fhir.Model.OperationOutcome.IssueComponent
            {
                Severity = Hl7.Fhir.Model.OperationOutcome.IssueSeverity.Error,
                Code = Hl7.Fhir.Model.OperationOutcome.IssueType.Invalid,
                Diagnostics = problem,
            });
        }

        return Results.Text(JsonSerializer.Serialize(outcome, Fhir.FhirJson.Options), "application/fhir+json", Encoding.UTF8, status);
    }

    /// <summary>A searchset Bundle written around the stored resources' own JSON (never re-serialized: the bytes the chain hashed).</summary>
    private sealed class SearchsetResult(HttpContext http, string type, IReadOnlyList<AuditRecord> page, long total, int count) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var request = http.Request;
            var self = $"{request.Scheme}://{request.Host}{request.PathBase}{request.Path}{request.QueryString}";
            var baseUrl = $"{request.Scheme}://{request.Host}{request.PathBase}/audit/{type}";
            httpContext.Response.ContentType = "application/fhir+json";
            await using var json = new Utf8JsonWriter(httpContext.Response.Body);
            json.WriteStartObject();
            json.WriteString("resourceType", "Bundle");
            json.WriteString("type", "searchset");
            json.WriteString("timestamp", DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            json.WriteNumber("total", total);
            json.WriteStartArray("link");
            Link(json, "self", self);
            if (page.Count == count && page.Count > 0)
            {
                var next = QueryHelpers(request.Query, page[^1].Seq);
                Link(json, "next", $"{request.Scheme}://{request.Host}{request.PathBase}{request.Path}{next}");
            }

            json.WriteEndArray();
            json.WriteStartArray("entry");
            foreach (var record in page)
            {
                json.WriteStartObject();
                json.WriteString("fullUrl", $"{baseUrl}/{record.ResourceId}");
                json.WritePropertyName("resource");
                json.WriteRawValue(record.ResourceJson, skipInputValidation: true);
                json.WriteStartObject("search");
                json.WriteString("mode", "match");
                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
            await json.FlushAsync(httpContext.RequestAborted);
        }

        private static void Link(Utf8JsonWriter json, string relation, string url)
        {
            json.WriteStartObject();
            json.WriteString("relation", relation);
            json.WriteString("url", url);
            json.WriteEndObject();
        }

        private static string QueryHelpers(IQueryCollection query, long cursor)
        {
            var next = query.Where(p => p.Key != "_cursor").ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
            next["_cursor"] = new StringValues(cursor.ToString(CultureInfo.InvariantCulture));
            return Microsoft.AspNetCore.Http.QueryString.Create(next).ToString();
        }
    }

    /// <summary>Every match as NDJSON (one resource per line, oldest first), streamed.</summary>
    private sealed class NdjsonExport(AuditStore store, AuditQuery query) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.ContentType = "application/fhir+ndjson";
            httpContext.Response.Headers.ContentDisposition = $"attachment; filename=\"audit-{query.ResourceType}.ndjson\"";
            var body = httpContext.Response.BodyWriter;
            var written = 0;
            await foreach (var record in store.ExportAsync(query, httpContext.RequestAborted))
            {
                Encoding.UTF8.GetBytes(record.ResourceJson, body);
                System.Buffers.BuffersExtensions.Write(body, "\n"u8);
                if (++written % 256 == 0)
                {
                    await body.FlushAsync(httpContext.RequestAborted);
                }
            }

            await body.FlushAsync(httpContext.RequestAborted);
        }
    }
}
