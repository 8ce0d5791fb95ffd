using System.Runtime.CompilerServices;

namespace HealthRec.Clinical.Ingestion;

/// <summary>What can go wrong between a FHIR source and a patient timeline. Each is counted, none is fatal.</summary>
public enum ProblemKind
{
    /// <summary>A line or document that is not JSON at all (e.g. truncated).</summary>
    MalformedJson,

    /// <summary>An NDJSON line longer than the configured maximum; skipped without being parsed.</summary>
    LineTooLong,

    /// <summary>JSON that is not a valid FHIR resource (unknown element, wrong type, bad value).</summary>
    InvalidResource,

    /// <summary>A resource of a type the source does not expect where it was found.</summary>
    UnexpectedResourceType,

    /// <summary>A Bundle entry with no resource in it.</summary>
    EntryWithoutResource,

    /// <summary>An Observation the features need, but without a usable value.</summary>
    MissingValue,

    /// <summary>A quantity whose unit is absent, not UCUM, or not known for that analyte.</summary>
    UnknownUnit,

    /// <summary>A UCUM unit that cannot be converted to the analyte's canonical unit (e.g. mg for glucose).</summary>
    UnconvertibleUnit,

    /// <summary>A value outside the physiologically possible range (e.g. systolic pressure 900 mm[Hg]).</summary>
    ImplausibleValue,

    /// <summary>A clinical resource whose subject is not a patient of this source.</summary>
    UnknownPatientReference,

    /// <summary>A clinical resource without any subject or patient reference.</summary>
    MissingPatientReference,

    /// <summary>A clinical fact without any date, which no index date can place.</summary>
    MissingDate,

    /// <summary>An OperationOutcome where a prefetch result or search page was expected.</summary>
    OperationOutcome,

    /// <summary>A FHIR server or file that could not be read.</summary>
    SourceUnavailable,
}

/// <summary>One problem as reported: where (file:line or Type/id), and what; never a resource body or a name.</summary>
public sealed record IngestionProblem(ProblemKind Kind, string Where, string Message);

/// <summary>
/// Counts of everything read, excluded and wrong during one ingestion, with a few examples of each problem.
/// Thread-safe: sources read patients concurrently. <c>onProblem</c> sees every problem (it must be thread-safe too).
/// </summary>
public sealed class IngestionReport(Action<IngestionProblem>? onProblem = null)
{
    /// <summary>An eGFR reported in mL/min taken as mL/min/1.73 m² (the analyte's stated equivalence).</summary>
    public const string EgfrEquivalence = "eGFR in mL/min taken as mL/min/1.73 m²";

    /// <summary>An eGFR computed from a serum creatinine reported without one (CKD-EPI 2021).</summary>
    public const string EgfrComputed = "eGFR computed from creatinine (CKD-EPI 2021)";

    private const int ExamplesPerKind = 5;
    // Counters are boxes incremented in place: AddOrUpdate takes a bucket lock on every update, and every thread of a
    // parallel read counts the same few keys ("Observation"), so it serialized them.
    private readonly ConcurrentDictionary<string, StrongBox<long>> _resources = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, StrongBox<long>> _excluded = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, StrongBox<long>> _noted = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<ProblemKind, StrongBox<long>> _problems = new();
    private readonly ConcurrentDictionary<ProblemKind, ConcurrentQueue<IngestionProblem>> _examples = new();
    private readonly ConcurrentDictionary<(string Type, string System, string Code), UnreadCode> _unread = new();
    private long _patients;

    /// <summary>Distinct codes the unused-data report keeps; past it, further codes are counted under one "(other codes)" line.</summary>
    public const int MaxUnreadCodes = 20_000;

    public long Patients => Interlocked.Read(ref _patients);

    /// <summary>Resources read, by resource type.</summary>
    public IReadOnlyDictionary<string, long> ResourcesByType => _resources.ToDictionary(kv => kv.Key, kv => Interlocked.Read(ref kv.Value.Value), StringComparer.Ordinal);

    /// <summary>Entries deliberately left out (entered-in-error, refuted, ...), by reason.</summary>
    public IReadOnlyDictionary<string, long> ExcludedByReason => _excluded.ToDictionary(kv => kv.Key, kv => Interlocked.Read(ref kv.Value.Value), StringComparer.Ordinal);

    /// <summary>Values accepted under a stated assumption or computed by HealthRec, by what was done (see <see cref="EgfrComputed"/>).</summary>
    public IReadOnlyDictionary<string, long> NotedByKind => _noted.ToDictionary(kv => kv.Key, kv => Interlocked.Read(ref kv.Value.Value), StringComparer.Ordinal);

    public IReadOnlyDictionary<ProblemKind, long> ProblemsByKind => _problems.ToDictionary(kv => kv.Key, kv => Interlocked.Read(ref kv.Value.Value));

    public long TotalProblems => _problems.Values.Sum(box => Interlocked.Read(ref box.Value));

    public void PatientRead() => Interlocked.Increment(ref _patients);

    public void ResourceRead(string resourceType) => Increment(_resources, resourceType);

    public void Excluded(string reason) => Increment(_excluded, reason);

    /// <summary>Counts a value accepted under a stated equivalence or computed (not a problem: each is marked in the record).</summary>
    public void Noted(string what) => Increment(_noted, what);

    /// <summary>What was noted, for a one-line summary ("" when nothing): "eGFR in mL/min taken as mL/min/1.73 m² 3, …".</summary>
    public string NotedSummary => string.Join(", ", NotedByKind.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}"));

    public long Count(string noted) => _noted.TryGetValue(noted, out var box) ? Interlocked.Read(ref box.Value) : 0;

    public void Problem(ProblemKind kind, string where, string message)
    {
        Increment(_problems, kind);
        onProblem?.Invoke(new IngestionProblem(kind, where, message));
        var examples = _examples.GetOrAdd(kind, _ => new ConcurrentQueue<IngestionProblem>());
        if (examples.Count < ExamplesPerKind)
        {
            examples.Enqueue(new IngestionProblem(kind, where, message));
        }
    }

    public long Count(ProblemKind kind) => _problems.TryGetValue(kind, out var box) ? Interlocked.Read(ref box.Value) : 0;

    private static void Increment<TKey>(ConcurrentDictionary<TKey, StrongBox<long>> counters, TKey key)
        where TKey : notnull =>
        Interlocked.Increment(ref counters.GetOrAdd(key, static _ => new StrongBox<long>()).Value);

    /// <summary>
    /// Counts a resource that no feature, group or class reads, by its type and coding (for the unused-data report:
    /// what a site's definitions could still describe). The display kept is the first seen.
    /// </summary>
    public void Unread(string resourceType, string system, string code, string? display)
    {
        var key = (resourceType, system, code);
        if (!_unread.TryGetValue(key, out var entry))
        {
            if (_unread.Count >= MaxUnreadCodes)
            {
                key = (resourceType, "", "(other codes)");
                display = null;
            }

            entry = _unread.GetOrAdd(key, k => new UnreadCode(k.Type, k.System, k.Code, display));
        }

        Interlocked.Increment(ref entry.CountBox.Value);
    }

    /// <summary>Codes no definition reads, most frequent first.</summary>
    public IReadOnlyList<UnreadCode> UnreadCodes =>
        [.. _unread.Values.OrderByDescending(u => u.Count).ThenBy(u => u.ResourceType, StringComparer.Ordinal)
            .ThenBy(u => u.System, StringComparer.Ordinal).ThenBy(u => u.Code, StringComparer.Ordinal)];

    public IReadOnlyList<IngestionProblem> Examples(ProblemKind kind) =>
        _examples.TryGetValue(kind, out var examples) ? [.. examples] : [];

    /// <summary>Every example kept, ordered by kind.</summary>
    public IReadOnlyList<IngestionProblem> AllExamples =>
        [.. _examples.OrderBy(kv => kv.Key).SelectMany(kv => kv.Value)];
}

/// <summary>A code present in the input that no definition reads, with how often it was seen.</summary>
public sealed class UnreadCode(string resourceType, string system, string code, string? display)
{
    internal StrongBox<long> CountBox { get; } = new();

    public string ResourceType { get; } = resourceType;

    public string System { get; } = system;

    public string Code { get; } = code;

    public string? Display { get; } = display;

    public long Count => Interlocked.Read(ref CountBox.Value);
}
