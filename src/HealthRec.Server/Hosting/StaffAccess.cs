using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Identity.Web;
using Hl7AuditEvent = Hl7.Fhir.Model.AuditEvent;

namespace HealthRec.Server.Hosting;

/// <summary>The staff roles (Entra ID app roles, or the <c>roles</c> claim of another OpenID Connect authority).</summary>
public static class StaffRoles
{
    public const string Admin = "Admin";
    public const string Auditor = "Auditor";
    public const string Clinician = "Clinician";
}

/// <summary>
/// Staff sign-in and who may use which staff API. With <c>Staff:Instance</c> and <c>Staff:TenantId</c> (Entra ID) or
/// <c>Staff:Authority</c> (any other OpenID Connect authority, e.g. an on-premises identity provider) and
/// <c>Staff:ClientId</c> (the API's application id; tokens must name it, or <c>api://</c> it, as audience), staff APIs
/// take bearer tokens validated by Microsoft.Identity.Web, and the token's app roles decide. Without them (the embedded
/// default) there is no sign-in: requests from this machine act as a local operator with every role, and any other
/// caller gets 401.
/// <para>Rules, by path: <c>/admin/audit/*</c> Admin or Auditor; <c>/admin/*</c> Admin; <c>/audit/*</c> Auditor (the people
/// whose work the trail records do not review it); <c>/api/*</c> and <c>/console/runs|worklist</c> (worklist, runs) Clinician
/// or Admin; <c>/console/models|usage</c> Admin; <c>/console</c> and <c>/hangfire</c> any staff role (Hangfire read-only unless Admin). Each access, allowed or refused, is recorded in the audit trail before it is
/// carried out.</para>
/// </summary>
public static partial class StaffAccess
{
    public const string Section = "Staff";
    private const string LocalScheme = "LocalOperator";
    private const string StaffScheme = "Staff";
    private const string CookieScheme = "StaffCookie";
    private const string SignInScheme = "StaffOpenIdConnect";

    private static readonly (string Prefix, string Policy, string[] Roles)[] Rules =
    [
        ("/admin/audit", "staff:audit-admin", [StaffRoles.Admin, StaffRoles.Auditor]),
        ("/admin", "staff:admin", [StaffRoles.Admin]),
        ("/audit", "staff:audit", [StaffRoles.Auditor]),
        ("/api", "staff:clinical", [StaffRoles.Clinician, StaffRoles.Admin]),
        ("/hangfire", "staff:any", [StaffRoles.Admin, StaffRoles.Auditor, StaffRoles.Clinician]),
        ("/console/runs", "staff:clinical", [StaffRoles.Clinician, StaffRoles.Admin]),
        ("/console/worklist", "staff:clinical", [StaffRoles.Clinician, StaffRoles.Admin]),
        ("/console/models", "staff:admin", [StaffRoles.Admin]),
        ("/console/usage", "staff:admin", [StaffRoles.Admin]),
        ("/console", "staff:any", [StaffRoles.Admin, StaffRoles.Auditor, StaffRoles.Clinician]),
    ];

    /// <summary>Whether an identity provider is configured (otherwise: local operator only).</summary>
    public static bool SignInConfigured(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        return !string.IsNullOrWhiteSpace(section["Authority"]) || !string.IsNullOrWhiteSpace(section["TenantId"]);
    }

    public static WebApplicationBuilder AddStaffAccess(this WebApplicationBuilder builder)
    {
        if (SignInConfigured(builder.Configuration))
        {
            var section = builder.Configuration.GetSection(Section);
            if (string.IsNullOrWhiteSpace(section["ClientId"]))
            {
                throw new OptionsValidationException(Section, typeof(MicrosoftIdentityOptions),
                    ["Staff:ClientId must name the staff API's application (client) id: tokens are accepted only with it as audience."]);
            }

            var authority = section["Authority"];
            if (authority is { Length: > 0 } && !Loopback.IsHttpsOrLoopback(new Uri(authority)))
            {
                throw new OptionsValidationException(Section, typeof(MicrosoftIdentityOptions), [$"Staff:Authority must be https (or loopback): {authority}"]);
            }

            var web = section["WebClientId"] is { Length: > 0 } webClient ? webClient : null;
            var authentication = builder.Services.AddAuthentication(web is null ? JwtBearerDefaults.AuthenticationScheme : StaffScheme);
            authentication.AddMicrosoftIdentityWebApi(builder.Configuration, Section, JwtBearerDefaults.AuthenticationScheme);
            if (web is not null)
            {
                AddBrowserSignIn(authentication, section, authority ?? $"{section["Instance"]?.TrimEnd('/')}/{section["TenantId"]}/v2.0", web);
            }

            builder.Services.Configure<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme, jwt =>
            {
                // A loopback authority over plain http is for tests and development on one machine only.
                jwt.RequireHttpsMetadata = authority is not { Length: > 0 } || new Uri(authority).Scheme == Uri.UriSchemeHttps;
                jwt.MapInboundClaims = false;
                jwt.TokenValidationParameters.RoleClaimType = "roles";
                jwt.TokenValidationParameters.NameClaimType = "sub";
            });
            if (authority is { Length: > 0 } && string.IsNullOrWhiteSpace(section["TenantId"]))
            {
                // Another OpenID Connect authority: Microsoft.Identity.Web still validates the token (signature from the
                // authority's published keys, lifetime, audience = ClientId, a roles or scp claim), but the Entra-only
                // parts of its set-up are undone after it: the "/v2.0" it appends to the authority, and its issuer and
                // signing-key checks, which look for Entra tenant ids. The issuer must be the authority, exactly.
                builder.Services.PostConfigure<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme, jwt =>
                {
                    var issuer = authority.TrimEnd('/');
                    jwt.Authority = issuer;
                    jwt.MetadataAddress = issuer + "/.well-known/openid-configuration";
                    jwt.ConfigurationManager = new Microsoft.IdentityModel.Protocols.ConfigurationManager<Microsoft.IdentityModel.Protocols.OpenIdConnect.OpenIdConnectConfiguration>(
                        jwt.MetadataAddress, new Microsoft.IdentityModel.Protocols.OpenIdConnect.OpenIdConnectConfigurationRetriever(),
                        new Microsoft.IdentityModel.Protocols.HttpDocumentRetriever(jwt.Backchannel) { RequireHttps = jwt.RequireHttpsMetadata });
                    jwt.TokenValidationParameters.IssuerValidator = null;
                    jwt.TokenValidationParameters.ValidIssuers = [issuer, issuer + "/"];
                    jwt.TokenValidationParameters.IssuerSigningKeyValidatorUsingConfiguration = null;
                    jwt.TokenValidationParameters.ValidAudiences ??= [section["ClientId"]!, $"api://{section["ClientId"]}"];
                });
            }
        }
        else
        {
            builder.Services.AddAuthentication(LocalScheme).AddScheme<AuthenticationSchemeOptions, LocalOperatorHandler>(LocalScheme, null);
        }

        builder.Services.AddAuthorization(options =>
        {
            foreach (var (_, policy, roles) in Rules)
            {
                options.AddPolicy(policy, p => p.RequireAuthenticatedUser().RequireRole(roles));
            }
        });
        return builder;
    }

    // A browser (no bearer token) signs in with the authority's OpenID Connect code flow (PKCE, a confidential web
    // client, Staff:WebClientId and Staff:WebClientSecret) into a cookie holding who and which roles — never a token. An
    // API client sends its bearer token, and is answered 401, never redirected, without one.
    private static void AddBrowserSignIn(AuthenticationBuilder authentication, IConfigurationSection section, string authority, string clientId)
    {
        authentication.AddPolicyScheme(StaffScheme, "Staff: bearer token or browser sign-in", policy => policy.ForwardDefaultSelector = http =>
            http.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                || !(HttpMethods.IsGet(http.Request.Method) && http.Request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase))
                && !http.Request.Path.StartsWithSegments("/signin-oidc")
                ? JwtBearerDefaults.AuthenticationScheme
                : CookieScheme);
        authentication.AddCookie(CookieScheme, cookie =>
        {
            cookie.Cookie.Name = "healthrec.staff";
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Lax;
            cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            cookie.ExpireTimeSpan = TimeSpan.FromHours(8);
            cookie.SlidingExpiration = false;
            cookie.ForwardChallenge = SignInScheme;
        });
        authentication.AddOpenIdConnect(SignInScheme, oidc =>
        {
            oidc.SignInScheme = CookieScheme;
            oidc.Authority = authority.TrimEnd('/');
            oidc.RequireHttpsMetadata = new Uri(authority).Scheme == Uri.UriSchemeHttps;
            oidc.ClientId = clientId;
            oidc.ClientSecret = section["WebClientSecret"];
            oidc.ResponseType = "code";
            oidc.ResponseMode = "query";
            oidc.UsePkce = true;
            oidc.Scope.Clear();
            foreach (var scope in (section["WebScopes"] ?? "openid profile roles").Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                oidc.Scope.Add(scope);
            }

            oidc.GetClaimsFromUserInfoEndpoint = true;
            oidc.MapInboundClaims = false;
            oidc.SaveTokens = false;
            oidc.ClaimActions.MapJsonKey("roles", "roles");
            oidc.TokenValidationParameters.RoleClaimType = "roles";
            oidc.TokenValidationParameters.NameClaimType = "sub";
            // The answer comes back as a top-level GET (response_mode=query): Lax cookies go with it, and over plain
            // http on loopback (tests, development) they must not be Secure-only; over https they are.
            oidc.CorrelationCookie.SameSite = SameSiteMode.Lax;
            oidc.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            oidc.NonceCookie.SameSite = SameSiteMode.Lax;
            oidc.NonceCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });
    }

    /// <summary>The gate in front of every staff path: 401 without a valid sign-in, 403 without the role, and a record of each access.</summary>
    public static WebApplication UseStaffAccess(this WebApplication app)
    {
        app.UseAuthentication();
        app.Use(async (http, next) =>
        {
            var path = http.Request.Path;
            var rule = Rules.FirstOrDefault(r => path.StartsWithSegments(r.Prefix, StringComparison.OrdinalIgnoreCase));
            if (rule.Policy is null)
            {
                await next(http);
                return;
            }

            var authorization = http.RequestServices.GetRequiredService<IAuthorizationService>();
            var audit = http.RequestServices.GetRequiredService<AuditTrail>();
            var time = http.RequestServices.GetRequiredService<TimeProvider>();
            var signedIn = http.User.Identity?.IsAuthenticated == true;
            var allowed = signedIn && (await authorization.AuthorizeAsync(http.User, rule.Policy)).Succeeded;
            var status = allowed ? 200 : signedIn ? 403 : 401;
            var record = AccessEvent(http, time.GetUtcNow(), status, rule.Roles);
            if (!await audit.TryRecordAsync(record))
            {
                await AuditTrail.NotRecorded().ExecuteAsync(http);
                return;
            }

            if (allowed)
            {
                try
                {
                    await next(http);
                }
                catch (Exception) when (!http.Response.HasStarted && !IsRoutine(path))
                {
                    await audit.TryRecordAsync(AccessEvent(http, time.GetUtcNow(), 500, rule.Roles, answered: true));
                    throw;
                }

                if (http.Response.StatusCode >= 400 && !IsRoutine(path))
                {
                    // The access was allowed and recorded before it ran; what it came to is recorded beside it, so that the
                    // review shows a 400, 404 or 405 as refused and a 500 as an error, not as a success.
                    await audit.TryRecordAsync(AccessEvent(http, time.GetUtcNow(), http.Response.StatusCode, rule.Roles, answered: true));
                }
            }
            else if (!signedIn)
            {
                await http.ChallengeAsync();
            }
            else
            {
                await TypedResults.Problem(statusCode: 403, title: "Not allowed",
                    detail: $"{path} needs the role {string.Join(" or ", rule.Roles)}; your sign-in has {Roles(http.User)}.").ExecuteAsync(http);
            }
        });
        return app;
    }

    /// <summary>
    /// The jobs dashboard's own styles, scripts, fonts and statistics poll (Hangfire's <c>/css…</c>, <c>/js…</c>,
    /// <c>/fonts/…</c> and <c>/stats</c>): still recorded, as <c>staff-routine</c>, so that the review can hide them by default;
    /// what they came to is not recorded (a missing font is not an auditor's concern).
    /// </summary>
    internal static bool IsRoutine(PathString path) =>
        path.StartsWithSegments("/hangfire", StringComparison.OrdinalIgnoreCase, out var rest)
        && (RoutineAsset().IsMatch(rest.Value ?? "") || rest.StartsWithSegments("/fonts", StringComparison.OrdinalIgnoreCase)
            || rest.Equals("/stats", StringComparison.OrdinalIgnoreCase));

    [System.Text.RegularExpressions.GeneratedRegex("^/(css|js)[0-9]*$", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex RoutineAsset();

    private static string Roles(ClaimsPrincipal user)
    {
        var roles = user.FindAll("roles").Select(c => c.Value).ToList();
        return roles.Count == 0 ? "no HealthRec role" : string.Join(", ", roles);
    }

    /// <summary>
    /// The AuditEvent of one staff access: who (subject, issuer, roles), what (method and path), allowed or why not. With
    /// <paramref name="answered"/>, the record of what an allowed access came to (<c>staff-answer</c>, written after it ran, when it did not succeed).
    /// </summary>
    private static Hl7AuditEvent AccessEvent(HttpContext http, DateTimeOffset at, int status, string[] needed, bool answered = false)
    {
        var method = http.Request.Method;
        var action = HttpMethods.IsGet(method) || HttpMethods.IsHead(method) ? Hl7AuditEvent.AuditEventAction.R : Hl7AuditEvent.AuditEventAction.E;
        var outcome = status switch
        {
            _ when answered => AuditOutcome.FromStatus(status, $"answered {status}"),
            401 => AuditOutcome.Failed("not signed in"),
            403 => AuditOutcome.Failed($"needs the role {string.Join(" or ", needed)}"),
            _ => AuditOutcome.Success,
        };
        var subtype = answered ? "staff-answer" : IsRoutine(http.Request.Path) ? "staff-routine" : "staff-access";
        var audit = AuditEvents.New(AuditEvents.Rest, subtype, action, at, outcome, http.TraceIdentifier);
        var user = http.User;
        if (user.Identity?.IsAuthenticated == true)
        {
            var subject = user.FindFirst("sub")?.Value ?? user.FindFirst("oid")?.Value ?? user.Identity.Name ?? "unknown";
            var issuer = user.FindFirst("iss")?.Value ?? "urn:healthrec:local-operator";
            audit.User(subject, user.FindFirst("name")?.Value ?? user.FindFirst("azp")?.Value ?? user.FindFirst("client_id")?.Value,
                user.FindAll("roles").Select(c => c.Value), identifierSystem: issuer);
        }
        else
        {
            audit.Anonymous(http.Connection.RemoteIpAddress?.ToString());
        }

        audit.Server(requestor: false);

        // The path and query, never headers (a token travels in one) or the body.
        return audit.Thing(AuditCodes.Uri, $"{method} {http.Request.Path}{http.Request.QueryString}", name: $"{method} {http.Request.Path}");
    }

    /// <summary>The embedded default without an identity provider: a request from this machine is the local operator, with every role.</summary>
    private sealed class LocalOperatorHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (!Loopback.IsLocal(Context))
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var identity = new ClaimsIdentity(
                [
                    new Claim("sub", "local-operator"),
                    new Claim("name", "local operator (no staff sign-in configured)"),
                    new Claim("roles", StaffRoles.Admin), new Claim("roles", StaffRoles.Auditor), new Claim("roles", StaffRoles.Clinician),
                ], LocalScheme, "sub", "roles");
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), LocalScheme)));
        }

        protected override Task HandleChallengeAsync(AuthenticationProperties properties)
        {
            Response.StatusCode = 401;
            Response.Headers.WWWAuthenticate = "Bearer";
            return Task.CompletedTask;
        }
    }
}
