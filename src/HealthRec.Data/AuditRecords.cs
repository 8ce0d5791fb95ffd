
namespace HealthRec.Data;

/// <summary>
/// One record to append: a FHIR resource (an AuditEvent or a GuidanceResponse) as JSON, what patient it is about, and
/// the values it is found by (<see cref="Search"/>: search parameter name and value, e.g. <c>("action", "E")</c>).
/// </summary>
public sealed record AuditEntry(string ResourceType, string ResourceId, string? PatientId, string ResourceJson)
{
    public IReadOnlyList<AuditSearchValue> Search { get; init; } = [];
}

/// <summary>A value a record is found by: a search parameter's name and one value it matches.</summary>
public readonly record struct AuditSearchValue(string Name, string Value);

/// <summary>Records matching every filter: each <see cref="AuditFilter"/> matches any of its values; each <see cref="AuditRange"/> bounds a value.</summary>
public sealed record AuditQuery(string ResourceType)
{
    public IReadOnlyList<AuditFilter> Filters { get; init; } = [];
    public IReadOnlyList<AuditRange> Ranges { get; init; } = [];

    /// <summary>Only records before this one in the chain (the paging cursor: pages go from the newest back).</summary>
    public long? Before { get; init; }
}

/// <summary>A search parameter that must have one of these values (or, <see cref="Negated"/>, none of them: FHIR's <c>:not</c>).</summary>
public sealed record AuditFilter(string Name, IReadOnlyList<string> Values)
{
    public bool Negated { get; init; }
}

/// <summary>A search parameter whose value (text that orders as it compares, e.g. a UTC instant) is above or below a bound.</summary>
public sealed record AuditRange(string Name, AuditBound Bound, string Value);

public enum AuditBound { AtLeast, Above, AtMost, Below }

/// <summary>An archive of records past retention: what it holds, where it went, and the hash the remaining chain starts from.</summary>
public sealed record AuditArchive(long FirstSeq, long ArchivedThrough, long Records, string File, string FileSha256, string LastHash);

/// <summary>A record of the trail, with its place in the chain.</summary>
public sealed record AuditRecord(long Seq, DateTimeOffset RecordedAt, string ResourceType, string ResourceId, string? PatientId, string ResourceJson,
    string PreviousHash, string Hash);

/// <summary>What a walk of the chain found: how many records, and the first one where the chain breaks, with why.</summary>
public sealed record AuditVerification(long Records, long? BrokenAt, string? Problem)
{
    public bool Intact => BrokenAt is null;
}
