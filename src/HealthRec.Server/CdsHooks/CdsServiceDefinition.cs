namespace HealthRec.Server.CdsHooks;

/// <summary>
/// A CDS Service as the discovery endpoint describes it (CDS Hooks 2.0, "Discovery"). Read from one JSON
/// file per service in the definitions folder; optional attributes without a value are omitted on output.
/// </summary>
public sealed record CdsServiceDefinition(
    string Hook,
    string? Title,
    string Description,
    string Id,
    IReadOnlyDictionary<string, string>? Prefetch,
    string? UsageRequirements,
    JsonElement? Extension);

/// <summary>The discovery response: <c>{"services": [...]}</c>, possibly empty.</summary>
public sealed record CdsDiscoveryResponse(IReadOnlyList<CdsServiceDefinition> Services);
