using Hl7.Fhir.Model;

namespace HealthRec.Server.Audit;

/// <summary>One line of the review: an audited operation, or a decision (a GuidanceResponse with its cards).</summary>
public sealed record ReviewEntry(long Seq, DateTimeOffset At, string Kind, string Action, bool Succeeded, string? Outcome, IReadOnlyList<string> Who,
    string? Patient, IReadOnlyList<string> What, string? RequestId, IReadOnlyList<ReviewCard> Cards, string? Models)
{
    /// <summary>The record's subtype code (<c>cds-call</c>, <c>staff-access</c>…).</summary>
    public string? Subtype { get; init; }

    /// <summary>What the request came to: success, refused (the caller's fault, 4xx) or error (the server's, 5xx).</summary>
    public string Result { get; init; } = "success";
}

/// <summary>A card exactly as HealthRec returned it: its summary, indicator, detail and the JSON that was sent.</summary>
public sealed record ReviewCard(string Uuid, string Summary, string Indicator, string? Source, string? Detail, string Json);

/// <summary>The filters of the review page, echoed into its form and its export link.</summary>
public sealed record ReviewFilters(string? Patient, string? From, string? To, string? Agent, string? Subtype, string? Outcome)
{
    /// <summary>Whether the jobs dashboard's assets and polls (<c>staff-routine</c>) are shown; hidden by default.</summary>
    public bool Routine { get; init; }
}

/// <summary>
/// The review page for compliance staff (<c>GET /audit/review</c>, role Auditor): filters on patient, dates, who, what
/// and outcome; for one patient, a timeline of who saw what and what HealthRec advised — each decision with its cards
/// exactly as shown; an NDJSON export of the filtered set. Server-rendered, no script; it reads the same search as the
/// FHIR endpoints, so what the page shows and what the export holds are the same records.
/// </summary>
public static class AuditReview
{
    private const int PageSize = 200;

    public static WebApplication MapAuditReview(this WebApplication app)
    {
        app.MapGet("/audit/review", ReviewAsync).WithTags("Audit").WithName("AuditReview")
            .WithSummary("The audit review page (HTML): filters on patient, dates, who, what and outcome; a patient's timeline with each card as the EHR showed it; an NDJSON export of the same records (staff role Auditor).")
            .WithPageHeaders("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'");
        return app;
    }

    internal static async Task<IResult> ReviewAsync(HttpContext http, AuditStore store, AuditWriter writer, string? patient, string? from, string? to, string? agent,
        string? subtype, string? outcome, string? routine)
    {
        await writer.FlushAsync(http.RequestAborted);
        var filters = new ReviewFilters(Blank(patient), Blank(from), Blank(to), Blank(agent), Blank(subtype), Blank(outcome)) { Routine = routine is "1" or "on" or "true" };
        var parameters = Parameters(filters);
        var (events, eventProblems) = Query("AuditEvent", parameters);
        var problems = eventProblems;
        var entries = new List<ReviewEntry>();
        long total = 0;
        if (problems.Count == 0)
        {
            (var page, total) = await store.SearchAsync(events, PageSize, http.RequestAborted);
            entries.AddRange(WithAnswers([.. page.Select(FromEvent)], await AnswersAsync(store, page.Select(FromEvent), http.RequestAborted)));
            // For one patient, the decisions too: the timeline shows what HealthRec advised beside who saw what.
            if (filters.Patient is not null && filters.Agent is null && filters.Subtype is null && filters.Outcome is null)
            {
                var (guidance, _) = Query("GuidanceResponse", parameters);
                var (decisions, _) = await store.SearchAsync(guidance, PageSize, http.RequestAborted);
                entries.AddRange(decisions.Select(FromGuidance));
            }
        }

        var export = "/audit/AuditEvent" + QueryString.Create(parameters.Append(new("_format", "ndjson"))).ToString();
        return new RazorComponentResult<AuditReviewPage>(new Dictionary<string, object?>
        {
            [nameof(AuditReviewPage.Filters)] = filters,
            [nameof(AuditReviewPage.Entries)] = entries.OrderByDescending(e => e.At).ThenByDescending(e => e.Seq).ToList(),
            [nameof(AuditReviewPage.Total)] = total,
            [nameof(AuditReviewPage.Shown)] = Math.Min(total, PageSize),
            [nameof(AuditReviewPage.Problems)] = problems,
            [nameof(AuditReviewPage.ExportUrl)] = export,
        }) { StatusCode = problems.Count > 0 ? 400 : 200 };
    }

    private static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();

    // The staff-answer records of the page's staff accesses (what each allowed request came to, when it did not succeed).
    private static async Task<Dictionary<string, ReviewEntry>> AnswersAsync(AuditStore store, IEnumerable<ReviewEntry> entries, CancellationToken cancellationToken)
    {
        var requests = entries.Where(e => e.Subtype is "staff-access" or "staff-routine" && e.RequestId is not null).Select(e => e.RequestId!).Distinct().ToList();
        if (requests.Count == 0)
        {
            return [];
        }

        var query = new AuditQuery("AuditEvent") { Filters = [new AuditFilter("subtype", ["staff-answer"]), new AuditFilter("request", requests)] };
        var (answers, _) = await store.SearchAsync(query, PageSize, cancellationToken);
        return answers.Select(FromEvent).Where(a => a.RequestId is not null).GroupBy(a => a.RequestId!).ToDictionary(g => g.Key, g => g.First());
    }

    // Each staff access with what it came to; an answer record shown beside its access is not listed again.
    private static IEnumerable<ReviewEntry> WithAnswers(List<ReviewEntry> entries, Dictionary<string, ReviewEntry> answers)
    {
        var accessed = entries.Where(e => e.Subtype is "staff-access" or "staff-routine" && e.RequestId is not null).Select(e => e.RequestId!).ToHashSet();
        foreach (var entry in entries)
        {
            if (entry.Subtype == "staff-answer" && entry.RequestId is not null && accessed.Contains(entry.RequestId))
            {
                continue;
            }

            yield return entry.RequestId is not null && entry.Subtype != "staff-answer" && answers.TryGetValue(entry.RequestId, out var answer)
                ? entry with { Succeeded = false, Outcome = $"allowed, then {answer.Outcome}", Result = answer.Result }
                : entry;
        }
    }

    // The page's filters as FHIR search parameters (dates as ge/le prefixes), so the page and the export agree.
    private static List<KeyValuePair<string, string?>> Parameters(ReviewFilters filters)
    {
        var parameters = new List<KeyValuePair<string, string?>>();
        void Add(string name, string? value)
        {
            if (value is not null)
            {
                parameters.Add(new(name, value));
            }
        }

        Add("patient", filters.Patient);
        Add("date", filters.From is null ? null : "ge" + filters.From);
        Add("date", filters.To is null ? null : "le" + filters.To);
        Add("agent", filters.Agent);
        Add("subtype", filters.Subtype);
        // By default the review hides the jobs dashboard's own assets and polls (still in the trail and the export's reach
        // with routine=1): an auditor reads who did what, not the stylesheet requests of a page they opened.
        Add("subtype:not", filters.Subtype is null && !filters.Routine ? "staff-routine" : null);
        Add("outcome", filters.Outcome);
        return parameters;
    }

    private static (AuditQuery Query, List<string> Problems) Query(string type, List<KeyValuePair<string, string?>> parameters)
    {
        var allowed = type == "GuidanceResponse" ? parameters.Where(p => p.Key is "patient" or "date").ToList() : parameters;
        var collection = new QueryCollection(allowed.GroupBy(p => p.Key).ToDictionary(g => g.Key, g => new Microsoft.Extensions.Primitives.StringValues([.. g.Select(p => p.Value)])));
        var (query, _, _, problems) = AuditSearchEndpoints.Parse(type, collection);
        return (query, problems);
    }

    private static ReviewEntry FromEvent(AuditRecord record)
    {
        var audit = (AuditEvent)JsonSerializer.Deserialize<Resource>(record.ResourceJson, FhirJson.Options)!;
        var who = audit.Agent.Where(a => a.Requestor == true || a.Who?.Identifier?.System != AuditCodes.DeviceSystem)
            .Select(a => string.Join(" ", new[] { a.Who?.Reference ?? a.Who?.Identifier?.Value ?? a.Network?.Address, a.Who?.Display is { } d ? $"({d})" : null,
                a.Role.Count > 0 ? $"[{string.Join(", ", a.Role.Select(r => r.Text))}]" : null }.Where(p => p is not null))).ToList();
        var what = audit.Entity.Where(e => e.Role?.Code != "1" && e.Type?.Code != "XrequestId")
            .Select(e => e.Description ?? e.Name ?? e.What?.Reference ?? e.What?.Identifier?.Value ?? "").Where(t => t.Length > 0).ToList();
        var subtype = audit.Subtype.FirstOrDefault(s => s.System == AuditCodes.Subtype);
        return new ReviewEntry(record.Seq, audit.Recorded ?? record.RecordedAt, subtype?.Display ?? "event",
            audit.Action?.ToString() ?? "", audit.Outcome == AuditEvent.AuditEventOutcome.N0, audit.OutcomeDesc, who, record.PatientId, what,
            audit.Entity.FirstOrDefault(e => e.Type?.Code == "XrequestId")?.What?.Identifier?.Value, [], null)
        {
            Subtype = subtype?.Code,
            Result = audit.Outcome switch
            {
                AuditEvent.AuditEventOutcome.N0 => "success",
                AuditEvent.AuditEventOutcome.N4 => "refused",
                _ => "error",
            },
        };
    }

    private static ReviewEntry FromGuidance(AuditRecord record)
    {
        var guidance = (GuidanceResponse)JsonSerializer.Deserialize<Resource>(record.ResourceJson, FhirJson.Options)!;
        var cards = guidance.Contained.OfType<Parameters>().SelectMany(p => p.Parameter).Select(p =>
        {
            var json = ((FhirString)p.Value!).Value!;
            using var card = JsonDocument.Parse(json);
            var root = card.RootElement;
            string? Text(string name) => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            var source = root.TryGetProperty("source", out var s) && s.TryGetProperty("label", out var label) ? label.GetString() : null;
            return new ReviewCard(p.Name!, Text("summary") ?? "", Text("indicator") ?? "", source, Text("detail"), json);
        }).ToList();
        var models = guidance.Module is CodeableConcept module ? string.Join(", ", module.Coding.Select(c => $"{c.Code} {c.Version}")) : null;
        var at = DateTimeOffset.Parse(guidance.OccurrenceDateTime!, System.Globalization.CultureInfo.InvariantCulture);
        var reasons = guidance.ReasonCode.Select(r => r.Text).OfType<string>().ToList();
        return new ReviewEntry(record.Seq, at, "Decision (GuidanceResponse)", "", guidance.Status == GuidanceResponse.GuidanceResponseStatus.Success,
            guidance.Status == GuidanceResponse.GuidanceResponseStatus.Success ? null : $"{guidance.Status}: {string.Join("; ", reasons)}", [],
            record.PatientId, [guidance.RequestIdentifier?.Value ?? ""], null, cards, models)
        {
            Result = guidance.Status == GuidanceResponse.GuidanceResponseStatus.Success ? "success" : "error",
        };
    }
}
