using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

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

    /// <summary>The definitions with this id: one per hook (CDS Hooks lets one id serve several hooks).</summary>
    public IReadOnlyList<CdsServiceDefinition> Find(string id) =>
        [.. Services.Where(s => string.Equals(s.Id, id, StringComparison.Ordinal))];

    public static CdsServiceCatalog Load(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new InvalidCdsServiceDefinitionException(
                $"CDS Service definitions folder '{folder}' does not exist (setting CdsHooks:DefinitionsPath).");
        }

        var problems = new List<string>();
        var services = new List<CdsServiceDefinition>();
        var fileById = new Dictionary<(string Id, string Hook), string>();
        foreach (var file in Directory.EnumerateFiles(folder, "*.json").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            var fileProblems = new List<string>();
            var service = Read(file, fileProblems);
            if (service is not null && fileById.TryGetValue((service.Id, service.Hook), out var other))
            {
                fileProblems.Add($"id '{service.Id}' with hook '{service.Hook}' is already used by {other}");
            }

            if (fileProblems.Count > 0)
            {
                problems.AddRange(fileProblems.Select(problem => $"{name}: {problem}"));
                continue;
            }

            fileById[(service!.Id, service.Hook)] = name;
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
