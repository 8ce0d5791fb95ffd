namespace HealthRec.Server.CdsHooks;

/// <summary>What a feedback call stored: new items, and repeats of items already stored (kept once).</summary>
public sealed record FeedbackReceipt(int Stored, int Repeats);

/// <summary>Feedback per type of card, and the override reasons given.</summary>
public sealed record FeedbackSummary(IReadOnlyList<CardTypeFeedback> CardTypes, IReadOnlyList<OverrideReasonCount> OverrideReasons)
{
    /// <summary>The same per cohort group (sex, age band), with each group's rates as ratios to the group shown the card most.</summary>
    public IReadOnlyList<CohortFeedbackView> ByCohort { get; init; } = [];
}

/// <summary>
/// CDS Hooks 2.0 feedback: the client says a card's suggestions were accepted or the card was overridden (with or
/// without a reason). Every item must name a card this service returned, and accepted suggestions must be that
/// card's; the whole call is checked first and stored in one transaction, or refused naming every bad item (nothing
/// of it is stored then). A repeated item is stored once, so a client may safely send feedback again.
/// </summary>
internal static class FeedbackEndpoints
{
    public static async Task<IResult> PostAsync(string id, HttpContext http, CdsServiceCatalog catalog, CdsClientTrust trust,
        IOptions<CdsHooksOptions> options, FeedbackStore store, InvocationWriter invocations, Audit.AuditTrail audit, TimeProvider time)
    {
        var cancellationToken = http.RequestAborted;
        if (catalog.Find(id).Count == 0)
        {
            return TypedResults.Problem(statusCode: 404, title: "No such CDS service", detail: $"This server offers no CDS service '{id}'.");
        }

        var baseUrl = CdsHooksEndpoints.BaseUrl(http, options.Value);
        var caller = await trust.AuthenticateAsync(http,
            [new Uri(baseUrl, $"cds-services/{id}/feedback").AbsoluteUri, new Uri(baseUrl, $"cds-services/{id}").AbsoluteUri], cancellationToken);
        var call = new Audit.CdsAudit.Call(id, null, null, null, caller?.Issuer, caller?.Tenant, caller?.Jti, null, http.TraceIdentifier, time.GetUtcNow()) { RemoteAddress = http.Connection.RemoteIpAddress?.ToString() };
        Task<IResult> Refused(IResult answer, int status, string why, IReadOnlyList<CdsFeedback>? items = null) =>
            audit.AnswerAsync(answer, Audit.CdsAudit.FeedbackEvent(call, Audit.AuditOutcome.FromStatus(status, why), items ?? []));
        if (caller is null)
        {
            return await Refused(CdsHooksEndpoints.Bare401(http), 401, "the caller's JWT was not accepted");
        }

        var (body, bodyProblem) = await CdsHooksEndpoints.ReadJsonAsync(http, options.Value.MaxRequestBytes, cancellationToken);
        if (bodyProblem is not null)
        {
            return await Refused(bodyProblem, 400, "the body is not JSON or is too large");
        }

        using (body)
        {
            var problems = new List<string>();
            var items = Read(body!.RootElement, id, time.GetUtcNow(), caller.Issuer, problems);
            if (problems.Count > 0)
            {
                return await Refused(Problem(400, "The feedback is not valid", problems), 400, "the feedback is not valid");
            }

            var cards = await store.FindCardsAsync([.. items.Select(i => i.CardUuid)], cancellationToken);
            if (items.Any(i => !cards.ContainsKey(i.CardUuid)))
            {
                // A card answered moments ago may still be on its way to the database: wait for it, then look again.
                await invocations.FlushAsync(cancellationToken);
                cards = await store.FindCardsAsync([.. items.Select(i => i.CardUuid)], cancellationToken);
            }

            for (var i = 0; i < items.Count; i++)
            {
                if (!cards.TryGetValue(items[i].CardUuid, out var card) || !string.Equals(card.ServiceId, id, StringComparison.Ordinal))
                {
                    problems.Add($"feedback[{i}].card '{items[i].CardUuid}' is not a card this service ({id}) returned");
                    continue;
                }

                foreach (var suggestion in items[i].AcceptedSuggestions.Where(s => !card.Suggestions.Contains(s)))
                {
                    problems.Add($"feedback[{i}].acceptedSuggestions: '{suggestion}' is not a suggestion of card {card.CardUuid}");
                }

                // A reason Coding must be one the card offered (CDS Hooks 2.0: "one of the overrideReasons of the card").
                var offered = CardCodes.OverridesFor(card.Kind);
                if (items[i].OverrideCode is { } code && !offered.Any(o => o.Code == code && (items[i].OverrideSystem is null || o.System == items[i].OverrideSystem)))
                {
                    problems.Add($"feedback[{i}].overrideReason.reason '{code}' is not one of the override reasons card {card.CardUuid} offered " +
                        $"({string.Join(", ", offered.Select(o => o.Code))})");
                }
            }

            if (problems.Count > 0)
            {
                return await Refused(Problem(422, "The feedback names cards or suggestions this service did not return", problems), 422,
                    "the feedback names cards or suggestions this service did not return", items);
            }

            // Stored, then recorded: when the record cannot be written the client hears 503 and sends again, and a
            // repeated item is stored once.
            var stored = await store.RecordAsync(items, cancellationToken);
            return await audit.AnswerAsync(TypedResults.Ok(new FeedbackReceipt(stored, items.Count - stored)),
                Audit.CdsAudit.FeedbackEvent(call, Audit.AuditOutcome.Success, items));
        }
    }

    /// <summary>Acceptance and override rates per type of card, and the override reasons given (staff role Admin).</summary>
    public static async Task<Results<Ok<FeedbackSummary>, ForbidHttpResult, ProblemHttpResult>> SummaryAsync(HttpContext http, FeedbackStore store)
    {
        return TypedResults.Ok(new FeedbackSummary(await store.SummaryAsync(http.RequestAborted), await store.OverrideReasonsAsync(http.RequestAborted))
        {
            ByCohort = FeedbackCohorts.Compare(await store.SummaryByCohortAsync(http.RequestAborted)),
        });
    }

    private static ProblemHttpResult Problem(int status, string title, List<string> problems) =>
        TypedResults.Problem(statusCode: status, title: title, detail: string.Join("; ", problems),
            extensions: new Dictionary<string, object?> { ["errors"] = problems });

    private static List<CdsFeedback> Read(JsonElement body, string serviceId, DateTimeOffset now, string? issuer, List<string> problems)
    {
        var items = new List<CdsFeedback>();
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("feedback", out var list) || list.ValueKind != JsonValueKind.Array)
        {
            problems.Add("the body must be an object with a 'feedback' array");
            return items;
        }

        if (list.GetArrayLength() == 0)
        {
            problems.Add("'feedback' is empty");
        }

        var i = 0;
        foreach (var item in list.EnumerateArray())
        {
            var at = $"feedback[{i++}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                problems.Add($"{at} must be an object");
                continue;
            }

            var card = Text(item, "card", at, problems, required: true);
            var outcome = Text(item, "outcome", at, problems, required: true);
            var timestamp = Text(item, "outcomeTimestamp", at, problems, required: true);
            DateTimeOffset when = default;
            if (timestamp is not null && !DateTimeOffset.TryParse(timestamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out when))
            {
                problems.Add($"{at}.outcomeTimestamp '{timestamp}' is not an ISO 8601 date and time (e.g. 2021-12-11T10:05:31Z)");
            }

            var accepted = new List<string>();
            if (item.TryGetProperty("acceptedSuggestions", out var suggestions))
            {
                if (suggestions.ValueKind != JsonValueKind.Array || suggestions.GetArrayLength() == 0)
                {
                    problems.Add($"{at}.acceptedSuggestions must be a non-empty array of {{\"id\": suggestion uuid}}");
                }
                else
                {
                    var j = 0;
                    foreach (var suggestion in suggestions.EnumerateArray())
                    {
                        if (suggestion.ValueKind == JsonValueKind.Object && Text(suggestion, "id", $"{at}.acceptedSuggestions[{j}]", problems, required: true) is { } sid)
                        {
                            accepted.Add(sid);
                        }
                        else if (suggestion.ValueKind != JsonValueKind.Object)
                        {
                            problems.Add($"{at}.acceptedSuggestions[{j}] must be an object with an id");
                        }

                        j++;
                    }
                }
            }

            string? system = null, code = null, comment = null;
            if (item.TryGetProperty("overrideReason", out var reason))
            {
                if (reason.ValueKind != JsonValueKind.Object)
                {
                    problems.Add($"{at}.overrideReason must be an object with a reason Coding and/or a userComment");
                }
                else
                {
                    if (reason.TryGetProperty("reason", out var coding))
                    {
                        if (coding.ValueKind != JsonValueKind.Object)
                        {
                            problems.Add($"{at}.overrideReason.reason must be a Coding");
                        }
                        else
                        {
                            code = Text(coding, "code", $"{at}.overrideReason.reason", problems, required: true);
                            system = Text(coding, "system", $"{at}.overrideReason.reason", problems, required: false);
                        }
                    }

                    comment = Text(reason, "userComment", $"{at}.overrideReason", problems, required: false);
                    if (code is null && comment is null && !problems.Any(p => p.StartsWith($"{at}.overrideReason", StringComparison.Ordinal)))
                    {
                        problems.Add($"{at}.overrideReason needs a reason Coding or a userComment");
                    }
                }
            }

            switch (outcome)
            {
                case "accepted" when accepted.Count == 0 && !problems.Any(p => p.StartsWith($"{at}.acceptedSuggestions", StringComparison.Ordinal)):
                    problems.Add($"{at}: an accepted outcome needs acceptedSuggestions");
                    break;
                case "accepted" when code is not null || comment is not null:
                    problems.Add($"{at}: an accepted outcome has no overrideReason");
                    break;
                case "overridden" when accepted.Count > 0:
                    problems.Add($"{at}: an overridden card has no acceptedSuggestions");
                    break;
                case "accepted" or "overridden" or null:
                    break;
                default:
                    problems.Add($"{at}.outcome must be 'accepted' or 'overridden', not '{outcome}'");
                    break;
            }

            if (card is not null && outcome is not null && timestamp is not null)
            {
                items.Add(new CdsFeedback(card, serviceId, outcome, accepted, system, code, comment, when, now, issuer));
            }
        }

        return items;
    }

    private static string? Text(JsonElement obj, string name, string at, List<string> problems, bool required)
    {
        if (!obj.TryGetProperty(name, out var value))
        {
            if (required)
            {
                problems.Add($"{at}.{name} is required");
            }

            return null;
        }

        if (value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(value.GetString()))
        {
            problems.Add($"{at}.{name} must be a non-empty string");
            return null;
        }

        return value.GetString();
    }
}
