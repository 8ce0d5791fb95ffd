using Hl7.Fhir.Model;

namespace HealthRec.Server.Audit;

/// <summary>The code systems and profiles of HealthRec's audit records.</summary>
public static class AuditCodes
{
    public const string AuditEventProfile = "https://healthrec.example.org/fhir/StructureDefinition/healthrec-audit-event";
    public const string GuidanceResponseProfile = "https://healthrec.example.org/fhir/StructureDefinition/healthrec-guidance-response";

    /// <summary>What HealthRec did (<c>AuditEvent.subtype</c>): <c>fhir-profiles/CodeSystem-audit-event-subtype.json</c>.</summary>
    public const string Subtype = "https://healthrec.example.org/fhir/CodeSystem/audit-event-subtype";

    public const string EventType = "http://terminology.hl7.org/CodeSystem/audit-event-type";
    public const string Dicom = "http://dicom.nema.org/resources/ontology/DCM";
    public const string RestfulInteraction = "http://hl7.org/fhir/restful-interaction";
    public const string EntityType = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
    public const string ObjectRole = "http://terminology.hl7.org/CodeSystem/object-role";
    public const string BalpEntityType = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType";
    public const string Participation = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
    public const string Uri = "urn:ietf:rfc:3986";
    public const string ModelSystem = "https://healthrec.example.org/fhir/CodeSystem/outcome-model";
    public const string DeviceSystem = "https://healthrec.example.org/fhir/sid/node";

    /// <summary>The subtypes HealthRec records, with their displays: read from the CodeSystem it publishes.</summary>
    public static readonly IReadOnlyDictionary<string, string> Subtypes = PublishedCodeSystems.Concepts("CodeSystem-audit-event-subtype.json")
        .ToDictionary(c => c.Code, c => c.Display, StringComparer.Ordinal);
}

/// <summary>What an audited operation came to: AuditEvent.outcome (0 success, 4 minor failure, 8 serious failure) and why.</summary>
public readonly record struct AuditOutcome(AuditEvent.AuditEventOutcome Code, string? Description)
{
    public static readonly AuditOutcome Success = new(AuditEvent.AuditEventOutcome.N0, null);

    public static AuditOutcome Failed(string description, bool serious = false) =>
        new(serious ? AuditEvent.AuditEventOutcome.N8 : AuditEvent.AuditEventOutcome.N4, description);

    /// <summary>An HTTP answer's outcome: 2xx success, 4xx minor failure (the caller's), 5xx serious (ours).</summary>
    public static AuditOutcome FromStatus(int status, string? description = null) => status switch
    {
        < 400 => Success,
        < 500 => new(AuditEvent.AuditEventOutcome.N4, description ?? $"HTTP {status}"),
        _ => new(AuditEvent.AuditEventOutcome.N8, description ?? $"HTTP {status}"),
    };
}

/// <summary>
/// Builds HealthRec's audit records as FHIR R4 resources shaped after the IHE Basic Audit Log Patterns (BALP): an
/// AuditEvent per audited operation — who (agents: the calling application, the user, HealthRec), what (entities: the
/// patient, the query, each card, the request id), when, and the outcome — and a GuidanceResponse per CDS call holding
/// the decision itself (the models and versions in <c>module</c>, the cards exactly as returned). Records never hold
/// tokens, JWTs or resource bodies: a query entity holds the request, never its results.
/// </summary>
public static class AuditEvents
{
    private static readonly string Node = Environment.MachineName;

    /// <summary>A new AuditEvent: type and HealthRec subtype, action, time, outcome, the observer (this node) and the request id.</summary>
    public static AuditEvent New(Coding type, string subtype, AuditEvent.AuditEventAction action, DateTimeOffset at, AuditOutcome outcome, string? requestId)
    {
        var audit = new AuditEvent
        {
            Id = Guid.CreateVersion7().ToString(),
            Meta = new Meta { Profile = [AuditCodes.AuditEventProfile] },
            Type = type,
            Subtype = [new Coding(AuditCodes.Subtype, subtype, AuditCodes.Subtypes[subtype])],
            Action = action,
            Recorded = at.ToUniversalTime(),
            Outcome = outcome.Code,
            OutcomeDesc = outcome.Description,
            Source = new AuditEvent.SourceComponent
            {
                Site = "HealthRec",
                Observer = new ResourceReference { Identifier = new Identifier(AuditCodes.DeviceSystem, Node), Display = $"HealthRec on {Node}" },
                Type = [new Coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server")],
            },
        };
        if (requestId is not null)
        {
            audit.Entity.Add(new AuditEvent.EntityComponent
            {
                What = new ResourceReference { Identifier = new Identifier(null, requestId) },
                Type = new Coding(AuditCodes.BalpEntityType, "XrequestId", "Request Id"),
            });
        }

        return audit;
    }

    public static Coding Rest => new(AuditCodes.EventType, "rest", "Restful Operation");

    public static Coding ApplicationActivity => new(AuditCodes.Dicom, "110100", "Application Activity");

    public static Coding UserAuthentication => new(AuditCodes.Dicom, "110114", "User Authentication");

    public static Coding Export => new(AuditCodes.Dicom, "110106", "Export");

    /// <summary>An application agent (a CDS client by its JWT issuer, a SMART client by its client id).</summary>
    public static AuditEvent Application(this AuditEvent audit, string identifierSystem, string id, string? display, bool requestor)
    {
        audit.Agent.Add(new AuditEvent.AgentComponent
        {
            Type = new CodeableConcept(AuditCodes.Dicom, "110150", "Application"),
            Who = new ResourceReference { Identifier = new Identifier(identifierSystem, id), Display = display },
            Requestor = requestor,
        });
        return audit;
    }

    /// <summary>A person agent: a FHIR reference (<c>Practitioner/123</c>) or a sign-in subject, with roles.</summary>
    public static AuditEvent User(this AuditEvent audit, string who, string? display, IEnumerable<string>? roles = null, string? identifierSystem = null)
    {
        var agent = new AuditEvent.AgentComponent
        {
            Type = new CodeableConcept(AuditCodes.Participation, "IRCP", "information recipient"),
            Who = identifierSystem is null ? new ResourceReference(who, display) : new ResourceReference { Identifier = new Identifier(identifierSystem, who), Display = display },
            Requestor = true,
        };
        foreach (var role in roles ?? [])
        {
            agent.Role.Add(new CodeableConcept { Text = role });
        }

        audit.Agent.Add(agent);
        return audit;
    }

    /// <summary>A caller not known (not signed in, or a token that did not verify), by its network address.</summary>
    public static AuditEvent Anonymous(this AuditEvent audit, string? address)
    {
        audit.Agent.Add(new AuditEvent.AgentComponent
        {
            Type = new CodeableConcept(AuditCodes.Participation, "IRCP", "information recipient"),
            Who = new ResourceReference { Display = "unknown (not signed in)" },
            Requestor = true,
            Network = address is null ? null : new AuditEvent.NetworkComponent { Address = address, Type = AuditEvent.AuditEventAgentNetworkType.N2 },
        });
        return audit;
    }

    /// <summary>HealthRec itself as the agent that acted (a job, a write-back, an outbound query).</summary>
    public static AuditEvent Server(this AuditEvent audit, bool requestor)
    {
        audit.Agent.Add(new AuditEvent.AgentComponent
        {
            Type = new CodeableConcept(AuditCodes.Dicom, "110153", "Source Role ID"),
            Who = new ResourceReference { Identifier = new Identifier(AuditCodes.DeviceSystem, Node), Display = "HealthRec" },
            Requestor = requestor,
        });
        return audit;
    }

    /// <summary>The patient the operation was about (BALP: entity type 1 Person, role 1 Patient).</summary>
    public static AuditEvent Patient(this AuditEvent audit, string? patientId)
    {
        if (patientId is { Length: > 0 })
        {
            audit.Entity.Add(new AuditEvent.EntityComponent
            {
                What = new ResourceReference($"Patient/{patientId}"),
                Type = new Coding(AuditCodes.EntityType, "1", "Person"),
                Role = new Coding(AuditCodes.ObjectRole, "1", "Patient"),
            });
        }

        return audit;
    }

    /// <summary>A FHIR query HealthRec made: the request (server and query string), never its results.</summary>
    public static AuditEvent QueryEntity(this AuditEvent audit, Uri server, string query)
    {
        var request = $"{server.AbsoluteUri.TrimEnd('/')}/{query}";
        audit.Entity.Add(new AuditEvent.EntityComponent
        {
            What = new ResourceReference { Identifier = new Identifier(AuditCodes.Uri, server.AbsoluteUri) },
            Type = new Coding(AuditCodes.EntityType, "2", "System Object"),
            Role = new Coding(AuditCodes.ObjectRole, "24", "Query"),
            Query = System.Text.Encoding.UTF8.GetBytes(request),
            Description = request,
        });
        return audit;
    }

    /// <summary>Any other object of the operation: a card by its uuid, a model by id and version, a job run, a file.</summary>
    public static AuditEvent Thing(this AuditEvent audit, string identifierSystem, string id, string? name = null, string? description = null,
        IEnumerable<(string Type, string Value)>? details = null, string? reference = null)
    {
        var entity = new AuditEvent.EntityComponent
        {
            What = reference is null ? new ResourceReference { Identifier = new Identifier(identifierSystem, id) } : new ResourceReference(reference),
            Type = new Coding(AuditCodes.EntityType, "2", "System Object"),
            Name = name,
            Description = description,
        };
        foreach (var (type, value) in details ?? [])
        {
            entity.Detail.Add(new AuditEvent.DetailComponent { Type = type, Value = new FhirString(value) });
        }

        audit.Entity.Add(entity);
        return audit;
    }

    /// <summary>
    /// The decision of one CDS call: requestIdentifier = hookInstance, the serving models (id and version as codings of
    /// <c>moduleCodeableConcept</c>), status, the patient, and the cards exactly as returned, each a parameter of the
    /// contained output Parameters (its uuid as the name, its JSON as the value).
    /// </summary>
    public static GuidanceResponse Guidance(string serviceId, string hookInstance, string? patientId, DateTimeOffset at,
        IEnumerable<(string Id, string Version)> models, GuidanceResponse.GuidanceResponseStatus status, IReadOnlyList<(string Uuid, string Json)> cards,
        IEnumerable<string> missingData)
    {
        var response = new GuidanceResponse
        {
            Id = Guid.CreateVersion7().ToString(),
            Meta = new Meta { Profile = [AuditCodes.GuidanceResponseProfile] },
            RequestIdentifier = new Identifier(AuditCodes.Uri, hookInstance.StartsWith("urn:", StringComparison.Ordinal) ? hookInstance : $"urn:uuid:{hookInstance}"),
            Module = new CodeableConcept
            {
                Coding = [.. models.Select(m => new Coding(AuditCodes.ModelSystem, m.Id) { Version = m.Version })],
                Text = $"HealthRec CDS service {serviceId}",
            },
            Status = status,
            Subject = patientId is null ? null : new ResourceReference($"Patient/{patientId}"),
            OccurrenceDateTime = at.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fffK", CultureInfo.InvariantCulture),
            Performer = new ResourceReference { Identifier = new Identifier(AuditCodes.DeviceSystem, Node), Display = "HealthRec" },
        };
        foreach (var missing in missingData)
        {
            response.ReasonCode.Add(new CodeableConcept { Text = $"data not available: {missing}" });
        }

        if (cards.Count > 0)
        {
            var output = new Parameters { Id = "cards" };
            foreach (var (uuid, json) in cards)
            {
                output.Parameter.Add(new Parameters.ParameterComponent { Name = uuid, Value = new FhirString(json) });
            }

            response.Contained.Add(output);
            response.OutputParameters = new ResourceReference("#cards");
        }

        return response;
    }

    /// <summary>The resource as an audit-trail entry: its JSON and every value it is searched by.</summary>
    public static AuditEntry ToEntry(Resource resource)
    {
        var json = JsonSerializer.Serialize(resource, FhirJson.Options);
        var search = new List<AuditSearchValue>();
        string? patient = null;
        switch (resource)
        {
            case AuditEvent audit:
                search.Add(new("date", Instant(audit.Recorded!.Value)));
                if (audit.Action is { } action)
                {
                    search.Add(new("action", Hl7.Fhir.Utility.EnumUtility.GetLiteral(action)!));
                }

                if (audit.Outcome is { } outcome)
                {
                    search.Add(new("outcome", Hl7.Fhir.Utility.EnumUtility.GetLiteral(outcome)!));
                }

                Token(search, "type", audit.Type);
                foreach (var subtype in audit.Subtype)
                {
                    Token(search, "subtype", subtype);
                }

                // HealthRec's own agent is on every record: not worth an index entry each time.
                foreach (var agent in audit.Agent.Where(a => a.Who?.Identifier?.System != AuditCodes.DeviceSystem))
                {
                    Reference(search, "agent", agent.Who);
                }

                foreach (var entity in audit.Entity)
                {
                    if (entity.Type?.Code == "XrequestId" && entity.What?.Identifier?.Value is { } requestId)
                    {
                        search.Add(new("request", requestId));
                        continue;
                    }

                    Reference(search, "entity", entity.What);

                    if (entity.Role?.Code == "1" && entity.What?.Reference is { } reference && reference.StartsWith("Patient/", StringComparison.Ordinal))
                    {
                        patient = reference["Patient/".Length..];
                    }
                }

                break;
            case GuidanceResponse guidance:
                search.Add(new("date", Instant(DateTimeOffset.Parse(guidance.OccurrenceDateTime!, CultureInfo.InvariantCulture))));
                search.Add(new("request", guidance.RequestIdentifier!.Value!));
                search.Add(new("status", Hl7.Fhir.Utility.EnumUtility.GetLiteral(guidance.Status)!));
                // The models and cards are not indexed here: the call's AuditEvent names each card, and links to this resource.
                patient = guidance.Subject?.Reference?["Patient/".Length..];
                break;
        }

        if (patient is not null)
        {
            // The id only; a search for Patient/{id} is read as {id}.
            search.Add(new("patient", patient));
        }

        return new AuditEntry(resource.TypeName, resource.Id!, patient, json) { Search = search };
    }

    /// <summary>An instant as the search index holds it: UTC, fixed width, so that text order is time order.</summary>
    public static string Instant(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private static void Token(List<AuditSearchValue> search, string name, Coding? coding)
    {
        if (coding?.Code is { } code)
        {
            search.Add(new(name, code));
            search.Add(new(name, $"{coding.System}|{code}"));
        }
    }

    private static void Reference(List<AuditSearchValue> search, string name, ResourceReference? reference)
    {
        if (reference?.Reference is { } literal)
        {
            search.Add(new(name, literal));
        }

        if (reference?.Identifier is { Value: { } value } identifier)
        {
            search.Add(new(name, value));
            if (identifier.System is { } system)
            {
                search.Add(new(name, $"{system}|{value}"));
            }
        }
    }
}
