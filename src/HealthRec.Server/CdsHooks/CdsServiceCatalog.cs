namespace HealthRec.Server.CdsHooks;

/// <summary>The CDS Service definitions are unusable; the message names every file and what is wrong with it.</summary>
public sealed class InvalidCdsServiceDefinitionException(string message) : Exception(message);

/// <summary>
/// The CDS Services this server offers, loaded once at start-up from a folder with one JSON definition per
/// service. Every problem in every file is collected, and start-up fails with all of them, so that an
/// operator fixes the folder in one pass.
/// </summary>
public sealed partial class CdsServiceCatalog
{
    private static readonly JsonSerializerOptions ReadOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        // A misspelt attribute ("descripton") would otherwise vanish silently.
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Disallow,
    };

    /// <summary>The hooks HealthRec answers; a definition for any other hook would advertise a service that does not exist.</summary>
    public static readonly IReadOnlySet<string> ImplementedHooks = new HashSet<string>(StringComparer.Ordinal) { "patient-view", "order-sign", "order-select" };

    private CdsServiceCatalog(IReadOnlyList<CdsServiceDefinition> services) => Services = services;

    public IReadOnlyList<CdsServiceDefinition> Services { get; }

    /// <summary>
    /// Ids retired from discovery that keep answering for a release (README, "CDS Hooks"): the order check had one id
    /// for two hooks, which clients that key services by id (the CDS Hooks Sandbox) cannot call both of.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string[]> RetiredIds = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["healthrec-order-check"] = ["healthrec-order-sign", "healthrec-order-select"],
    };

    /// <summary>The definition with this id (one per id), or those a retired id stands for.</summary>
    public IReadOnlyList<CdsServiceDefinition> Find(string id) => RetiredIds.TryGetValue(id, out var current) && !Services.Any(s => s.Id == id)
        ? [.. Services.Where(s => current.Contains(s.Id, StringComparer.Ordinal))]
        : [.. Services.Where(s => string.Equals(s.Id, id, StringComparison.Ordinal))];

    public static CdsServiceCatalog Load(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new InvalidCdsServiceDefinitionException(
                $"CDS Service definitions folder '{folder}' does not exist (setting CdsHooks:DefinitionsPath).");
        }

        var problems = new List<string>();
        var services = new List<CdsServiceDefinition>();
        var fileById = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(folder, "*.json").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            var fileProblems = new List<string>();
            var service = Read(file, fileProblems);
            // One id per service entry: clients key services by id, so a second entry with the same id hides the first.
            if (service is not null && fileById.TryGetValue(service.Id, out var other))
            {
                fileProblems.Add($"id '{service.Id}' is already used by {other}: give each service (each hook) its own id");
            }

            if (fileProblems.Count > 0)
            {
                problems.AddRange(fileProblems.Select(problem => $"{name}: {problem}"));
                continue;
            }

            fileById[service!.Id] = name;
            services.Add(service);
        }

        if (problems.Count > 0)
        {
            throw new InvalidCdsServiceDefinitionException(
                $"Invalid CDS Service definitions in '{folder}':{Environment.NewLine}  - " +
                string.Join($"{Environment.NewLine}  - ", problems));
        }

        return new CdsServiceCatalog(services);
    }

    private static CdsServiceDefinition? Read(string file, List<string> problems)
    {
        var text = File.ReadAllText(file);
        if (string.IsNullOrWhiteSpace(text))
        {
            problems.Add("the file is empty; it must hold one CDS Service definition (hook, id, description)");
            return null;
        }

        RawDefinition? raw;
        try
        {
            raw = JsonSerializer.Deserialize<RawDefinition>(text, ReadOptions);
        }
        catch (JsonException ex)
        {
            problems.Add($"not a valid CDS Service definition: {ex.Message}");
            return null;
        }

        if (raw is null)
        {
            problems.Add("the file holds JSON null; it must hold one CDS Service definition object");
            return null;
        }

        Require(raw.Hook, "hook", problems);
        Require(raw.Id, "id", problems);
        Require(raw.Description, "description", problems);
        if (!string.IsNullOrWhiteSpace(raw.Hook) && !ImplementedHooks.Contains(raw.Hook))
        {
            problems.Add($"hook '{raw.Hook}' is not one HealthRec answers ({string.Join(", ", ImplementedHooks.Order(StringComparer.Ordinal))})");
        }

        if (raw.Title is { Length: 0 })
        {
            problems.Add("'title' is empty; omit it or give the service a name");
        }

        if (raw.UsageRequirements is { Length: 0 })
        {
            problems.Add("'usageRequirements' is empty; omit it or describe the preconditions");
        }

        if (!string.IsNullOrEmpty(raw.Id) && !UrlSegment().IsMatch(raw.Id))
        {
            problems.Add($"'id' '{raw.Id}' must be a URL path segment (letters, digits, '-', '.', '_', '~')");
        }

        if (raw.Prefetch is { Count: 0 })
        {
            problems.Add("'prefetch' is empty; omit it when the service needs no prefetch");
        }

        foreach (var (key, template) in raw.Prefetch ?? [])
        {
            if (string.IsNullOrWhiteSpace(key) || string.IsNullOrWhiteSpace(template))
            {
                problems.Add($"prefetch key '{key}' needs a non-empty name and FHIR query template");
            }
        }

        if (raw.Extension is { ValueKind: not JsonValueKind.Object })
        {
            problems.Add("'extension' must be a JSON object");
        }

        return problems.Count > 0
            ? null
            : new CdsServiceDefinition(raw.Hook!, raw.Title, raw.Description!, raw.Id!, raw.Prefetch, raw.UsageRequirements, raw.Extension);
    }

    private static void Require(string? value, string attribute, List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            problems.Add($"required attribute '{attribute}' is missing or empty");
        }
    }

    [GeneratedRegex("^[A-Za-z0-9._~-]+$")]
    private static partial Regex UrlSegment();

    private sealed record RawDefinition(
        string? Hook,
        string? Title,
        string? Description,
        string? Id,
        Dictionary<string, string>? Prefetch,
        string? UsageRequirements,
        JsonElement? Extension);
}
