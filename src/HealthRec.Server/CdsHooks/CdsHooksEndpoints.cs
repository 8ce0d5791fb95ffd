using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Json;
using GuidanceResponse = Hl7.Fhir.Model.GuidanceResponse;

namespace HealthRec.Server.CdsHooks;

public static partial class CdsHooksEndpoints
{
    internal const string FhirHttpClient = "cds-fhir";

    /// <summary>The CORS policy of the CDS Hooks endpoints.</summary>
    public const string CorsPolicy = "cds-hooks";

    public static WebApplicationBuilder AddCdsHooks(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<CdsHooksOptions>().BindConfiguration(CdsHooksOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp => CdsServiceCatalog.Load(Path.Combine(
            sp.GetRequiredService<IHostEnvironment>().ContentRootPath,
            sp.GetRequiredService<IOptions<CdsHooksOptions>>().Value.DefinitionsPath)));

        // Outbound calls on the hook path: no redirects (a bearer token must not follow one elsewhere), and a
        // deadline per call set by the resolver; JWKS fetches get a short timeout of their own.
        builder.Services.AddHttpClient(FhirHttpClient).ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.All,
        });
        builder.Services.AddHttpClient(JwksCache.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(3))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
        builder.Services.AddSingleton(sp => new FhirQueryClient(sp.GetRequiredService<IHttpClientFactory>().CreateClient(FhirHttpClient)));
        builder.Services.AddSingleton<HookDataResolver>();
        builder.Services.AddSingleton<JwksCache>();
        builder.Services.AddSingleton<CdsClientTrust>();
        builder.Services.AddSingleton(sp => new FhirRecordMapper(sp.GetRequiredService<ClinicalSchema>().Terminology, new UnitNormalizer()));
        builder.Services.AddSingleton(sp =>
        {
            var root = sp.GetRequiredService<IHostEnvironment>().ContentRootPath;
            var outcomes = OutcomeFiles.Load(Path.Combine(root, sp.GetRequiredService<IOptions<KnowledgeOptions>>().Value.OutcomesPath),
                sp.GetRequiredService<ClinicalSchema>().Terminology);
            return new OutcomeLabels(outcomes.ToDictionary(o => o.Id, StringComparer.Ordinal));
        });
        builder.Services.AddSingleton<PatientRiskCards>();
        builder.Services.AddSingleton<OrderCheckCards>();
        builder.Services.AddHostedService<TokenReplayPurge>();

        // CORS for browser-based CDS clients (CDS Hooks 2.0, "Cross-Origin Resource Sharing"): discovery, the services
        // and feedback only, never with cookies; the caller's JWT (Authorization) and a JSON body are what a call sends.
        var origins = builder.Configuration.GetSection($"{CdsHooksOptions.Section}:{nameof(CdsHooksOptions.AllowedOrigins)}").Get<string[]>() ?? [];
        builder.Services.AddCors(cors => cors.AddPolicy(CorsPolicy, policy =>
        {
            _ = origins.Length == 0 ? policy.AllowAnyOrigin() : policy.WithOrigins(origins);
            policy.WithMethods("GET", "POST").WithHeaders("Authorization", "Content-Type").SetPreflightMaxAge(TimeSpan.FromMinutes(10));
        }));
        return builder;
    }

    public static WebApplication MapCdsHooks(this WebApplication app)
    {
        // Loaded here, before the server listens: a broken definition stops start-up with its file named.
        _ = app.Services.GetRequiredService<CdsServiceCatalog>();

        var group = app.MapGroup("/cds-services").WithTags("CDS Hooks").RequireCors(CorsPolicy);
        group.MapGet("/", Discover)
            .WithName("CdsDiscovery")
            .WithSummary("CDS Hooks discovery: the services this server offers, their hooks and prefetch templates.");
        group.MapPost("/{id}", CallAsync)
            .WithName("CdsServiceCall")
            .WithSummary("Calls a CDS service: cards for the patient in context (CDS Hooks 2.0). 400 for a bad request, 401 for an untrusted caller, 412 when the patient's data cannot be had, 413 for a body that is too large.");
        group.MapPost("/{id}/feedback", FeedbackEndpoints.PostAsync)
            .WithName("CdsFeedback")
            .WithSummary("Feedback on returned cards: accepted suggestions or overridden cards (CDS Hooks 2.0). Idempotent; unknown cards are refused with 422.");
        app.MapGet("/admin/cds-feedback", FeedbackEndpoints.SummaryAsync).WithTags("CDS Hooks").WithName("CdsFeedbackSummary")
            .WithSummary("Acceptance and override rates per type of card, and the override reasons given (staff role Admin).");
        return app;
    }

    // The patient-view service lists the source attribute sets its cards refer to (the models that answer and the recommender).
    internal static Ok<CdsDiscoveryResponse> Discover(HttpContext http, CdsServiceCatalog catalog, Transparency.SourceAttributeSets attributes, IOptions<CdsHooksOptions> options) =>
        TypedResults.Ok(new CdsDiscoveryResponse([.. catalog.Services.Select(s => s.Hook == "patient-view"
            ? Transparency.CardSourceAttributes.InDiscovery(s, attributes, BaseUrl(http, options.Value))
            : s)]));

    /// <summary>The URLs a JWT's <c>aud</c> may name for this request, on the configured public base URL or the request's own.</summary>
    internal static Uri BaseUrl(HttpContext http, CdsHooksOptions options) =>
        options.PublicBaseUrl is { Length: > 0 } configured
            ? new Uri(configured.EndsWith('/') ? configured : configured + "/")
            : new Uri($"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}/");

    internal static async Task<IResult> CallAsync(string id, HttpContext http, CdsServiceCatalog catalog, CdsClientTrust trust,
        IOptions<CdsHooksOptions> options, HookDataResolver resolver, FhirRecordMapper mapper, ModelCatalog models, PatientRiskCards riskCards,
        OrderCheckCards orderCards, InvocationWriter invocations, AuditTrail audit, IOptions<JsonOptions> json, Transparency.SourceAttributeSets attributes, TimeProvider time,
        ILogger<CdsServiceCatalog> logger)
    {
        var started = Stopwatch.GetTimestamp();
        var receivedAt = time.GetUtcNow();
        var cancellationToken = http.RequestAborted;
        var services = catalog.Find(id);
        if (services.Count == 0)
        {
            return TypedResults.Problem(statusCode: 404, title: "No such CDS service", detail: $"This server offers no CDS service '{id}'; see GET /cds-services.");
        }

        var settings = options.Value;
        var baseUrl = BaseUrl(http, settings);
        var caller = await trust.AuthenticateAsync(http, [new Uri(baseUrl, $"cds-services/{id}").AbsoluteUri], cancellationToken);
        var call = new CdsAudit.Call(id, null, null, null, caller?.Issuer, caller?.Tenant, caller?.Jti, null, http.TraceIdentifier, receivedAt) { RemoteAddress = http.Connection.RemoteIpAddress?.ToString() };
        if (caller is null)
        {
            // Refused callers are recorded too (who tried is not known: the token did not verify).
            return await audit.AnswerAsync(Bare401(http), CdsAudit.CallEvent(call, AuditOutcome.FromStatus(401, "the caller's JWT was not accepted"), [], null, null));
        }

        var (body, bodyProblem) = await ReadJsonAsync(http, settings.MaxRequestBytes, json => CdsBody.Parse(json, services), cancellationToken);
        if (bodyProblem is not null)
        {
            return await audit.AnswerAsync(bodyProblem, CdsAudit.CallEvent(call, AuditOutcome.FromStatus(400, "the body is not JSON or is too large"), [], null, null));
        }

        using (body)
        {
            var problems = new List<string>();
            var request = CdsRequestReader.Read(body!, services, problems, settings.MaxDraftOrders);
            if (request is null)
            {
                return await audit.AnswerAsync(TypedResults.Problem(statusCode: 400, title: "The CDS Hooks request is not valid", detail: string.Join("; ", problems),
                    extensions: new Dictionary<string, object?> { ["errors"] = problems }),
                    CdsAudit.CallEvent(call, AuditOutcome.FromStatus(400, "the CDS Hooks request is not valid"), [], null, null));
            }

            call = call with { Hook = request.Hook, HookInstance = request.HookInstance, PatientId = request.PatientId, UserId = request.UserId };

            var service = services.First(s => s.Hook == request.Hook);
            var data = await resolver.ResolveAsync(request, service, settings.FhirTimeout, cancellationToken);
            using var lease = models.Lease();
            var servingModels = lease.Models;
            var invocation = new CdsInvocation(id, request.HookInstance, request.Hook, request.PatientId, receivedAt, 0, 200, 0)
            {
                ClientIssuer = caller.Issuer,
                ClientJti = caller.Jti,
                ModelVersions = servingModels.Versions,
                DataSource = data.Source,
            };
            // A record without its Patient (prefetched as null, or absent from the FHIR server) cannot be checked at all:
            // answered like any key that could not be had, never with an empty list of cards that reads as "all clear".
            var record = data.Complete ? mapper.Map(data.Resources!, data.Report) : null;
            if (record is not null)
            {
                // The cohort the feedback on these cards is split by: sex, an age band, and race and ethnicity as the record states them.
                invocation = invocation with
                {
                    CohortSex = FeedbackCohorts.SexOf(record), CohortAge = FeedbackCohorts.AgeBandOf(record, receivedAt),
                    CohortRace = record.Race, CohortEthnicity = record.Ethnicity,
                };
            }

            if (data.Complete && record is null)
            {
                data = data with { Missing = [$"patient (no Patient/{request.PatientId} in the prefetch or on the FHIR server)"], Resources = null };
            }

            if (!data.Complete)
            {
                Log.DataUnavailable(logger, id, request.HookInstance, data.Missing.Count);
                Record(invocations, invocation with { StatusCode = 412, DurationMs = Elapsed(started) }, [], logger);
                var unanswered = AuditEvents.Guidance(id, request.HookInstance, request.PatientId, receivedAt, servingModels.Modules,
                    GuidanceResponse.GuidanceResponseStatus.DataRequired, [], data.Missing);
                return await audit.AnswerAsync(TypedResults.Problem(statusCode: 412, title: "The patient's data could not be had", detail: HookDataResolver.Describe(data.Missing),
                    extensions: new Dictionary<string, object?> { ["missing"] = data.Missing }),
                    [CdsAudit.CallEvent(call, AuditOutcome.FromStatus(412, "the patient's data could not be had"), [], servingModels.Versions, unanswered.Id), unanswered,
                        .. data.Queries.Select(q => CdsAudit.QueryEvent(call, q.Server, q.Query, q.Failure))]);
            }

            var at = receivedAt;
            var context = new CardContext(baseUrl, id, request.HookInstance, request.PatientId);
            var answer = request.Hook == "patient-view"
                ? Transparency.CardSourceAttributes.Annotate(attributes, riskCards.Build(servingModels, record!, at, context), context)
                : orderCards.Build(servingModels, record!, at, orderCards.ReadDrafts(request.DraftOrders!.Value, at, data.Report),
                    request.Hook == "order-select" ? request.Selections : null, context);
            // The decision is recorded before it is returned: each card is serialized once, and those bytes are both what
            // the GuidanceResponse holds and what the EHR receives.
            var auditStarted = Stopwatch.GetTimestamp();
            var cards = CdsResponse.SerializeCards(answer.Cards, json.Value.SerializerOptions);
            var guidance = AuditEvents.Guidance(id, request.HookInstance, request.PatientId, receivedAt, servingModels.Modules,
                GuidanceResponse.GuidanceResponseStatus.Success, [.. answer.Cards.Select((c, i) => (c.Uuid, Encoding.UTF8.GetString(cards[i])))], []);
            if (answer.AiInfluenced)
            {
                guidance.WithAiProvenance(answer.AiModels, receivedAt, $"CDS Hooks {request.Hook} call answered by {id}");
            }
            var recorded = audit.TryRecordAsync([
                CdsAudit.CallEvent(call, AuditOutcome.Success, [.. answer.Records.Select(r => (r.CardUuid, r.Kind, r.Subject))], servingModels.Versions, guidance.Id),
                guidance,
                .. data.Queries.Select(q => CdsAudit.QueryEvent(call, q.Server, q.Query, q.Failure)),
            ]);
            audit.Measured("cds-call", auditStarted);
            var duration = Elapsed(started);
            Record(invocations, invocation with { DurationMs = duration, CardCount = answer.Cards.Count }, answer.Records, logger);
            if (!await recorded)
            {
                Log.NotAudited(logger, id, request.HookInstance);
                return AuditTrail.NotRecorded();
            }

            Log.Answered(logger, id, request.HookInstance, answer.Cards.Count, duration);
            return TypedResults.Bytes(CdsResponse.Body(cards), "application/json; charset=utf-8");
        }
    }

    // Stored off the request path: the clinician's advice does not wait for the disk. A call answered while the database
    // is down waits in the writer and is stored when it is back (feedback on its cards is then accepted); only a call
    // the database refuses outright is lost, and logged.
    private static void Record(InvocationWriter store, CdsInvocation invocation, IReadOnlyList<CdsCardRecord> cards, ILogger logger) =>
        _ = store.RecordAsync(invocation, cards).ContinueWith(
            t => Log.NotStored(logger, t.Exception!.GetBaseException(), invocation.ServiceId, invocation.HookInstance),
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    internal static int Elapsed(long started) => (int)Stopwatch.GetElapsedTime(started).TotalMilliseconds;

    /// <summary>A 401 with no body and no reason (the best practices: say nothing that helps shape the next attempt).</summary>
    internal static IResult Bare401(HttpContext http)
    {
        if (http.Features.Get<IStatusCodePagesFeature>() is { } pages)
        {
            pages.Enabled = false;
        }

        // RFC 6750 §3: which class of problem, so an integrator can fix it; the token itself is never echoed.
        if (http.Items.TryGetValue(CdsClientTrust.RefusalItem, out var item) && item is (string error, string description))
        {
            http.Response.Headers.WWWAuthenticate = $"Bearer error=\"{error}\", error_description=\"{description}\"";
        }
        else
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
        }

        return TypedResults.Unauthorized();
    }

    /// <summary>The body as a JSON document, or the problem to answer (see the overload).</summary>
    internal static Task<(JsonDocument? Body, IResult? Problem)> ReadJsonAsync(HttpContext http, long limit, CancellationToken cancellationToken) =>
        ReadJsonAsync(http, limit, json => JsonDocument.Parse(json.ToArray(), Fhir.FhirJson.DocumentOptions), cancellationToken);

    /// <summary>
    /// The body read by <paramref name="parse"/> (which throws <see cref="JsonException"/> for what is not JSON), or the
    /// problem to answer: 413 when it is larger than the limit, 400 when it is not JSON or not valid Unicode. The bytes
    /// are read into a pooled buffer and handed to the parser once; a leading UTF-8 byte order mark is skipped.
    /// </summary>
    internal static async Task<(T? Body, IResult? Problem)> ReadJsonAsync<T>(HttpContext http, long limit, Func<ReadOnlySpan<byte>, T> parse, CancellationToken cancellationToken)
        where T : class
    {
        var tooLarge = TypedResults.Problem(statusCode: 413, title: "Request body too large",
            detail: $"The request body is larger than {limit:N0} bytes (setting CdsHooks:MaxRequestBytes).");
        if (http.Request.ContentLength > limit)
        {
            return (null, tooLarge);
        }

        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit;
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(limit + 1, (http.Request.ContentLength ?? 16 * 1024) + 1));
        try
        {
            var length = 0;
            int read;
            while ((read = await http.Request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
            {
                length += read;
                if (length > limit)
                {
                    return (null, tooLarge);
                }

                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(limit + 1, 2L * buffer.Length));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
            }

            var json = buffer.AsSpan(0, length);
            json = json.StartsWith("\uFEFF"u8) ? json[3..] : json;
            if (JsonText.Problem(json) is { } unicode)
            {
                return (null, TypedResults.Problem(statusCode: 400, title: "The request body is not valid Unicode", detail: $"The body could not be read: {unicode}."));
            }

            return (parse(json), null);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, tooLarge);
        }
        catch (JsonException ex)
        {
            return (null, TypedResults.Problem(statusCode: 400, title: "The request body is not JSON",
                detail: $"The body could not be read as JSON: {ex.Message.Split(". ")[0]} (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine})."));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4000, Level = LogLevel.Information, Message = "CDS {ServiceId} {HookInstance}: {Cards} cards in {Milliseconds} ms")]
        public static partial void Answered(ILogger logger, string serviceId, string hookInstance, int cards, int milliseconds);

        [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "CDS {ServiceId} {HookInstance}: 412, {Keys} prefetch keys could be neither prefetched nor fetched")]
        public static partial void DataUnavailable(ILogger logger, string serviceId, string hookInstance, int keys);

        [LoggerMessage(EventId = 4003, Level = LogLevel.Error, Message = "CDS {ServiceId} {HookInstance}: not answered, its audit records could not be written")]
        public static partial void NotAudited(ILogger logger, string serviceId, string hookInstance);

        [LoggerMessage(EventId = 4002, Level = LogLevel.Error, Message = "CDS {ServiceId} {HookInstance}: answered, but the call could not be stored")]
        public static partial void NotStored(ILogger logger, Exception exception, string serviceId, string hookInstance);
    }
}

/// <summary>Forgets accepted JWT ids once their tokens have expired, every ten minutes.</summary>
internal sealed class TokenReplayPurge(TokenReplayStore store, DatabaseStatus status, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(10), time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            if (!status.SchemaReady)
            {
                continue;
            }

            try
            {
                await store.PurgeAsync(time.GetUtcNow(), stoppingToken);
            }
            catch (System.Data.Common.DbException)
            {
                // The database is down; the next tick tries again, and readiness reports the outage.
            }
        }
    }
}
