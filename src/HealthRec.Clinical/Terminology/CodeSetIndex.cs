using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Text.Json;

namespace HealthRec.Clinical.Terminology;

/// <summary>
/// A Bundle of FHIR ValueSets turned into a lookup: explicit concepts by (system, code), and <c>is-a</c> filters
/// on prefix-hierarchical systems (ICD-10-CM, ATC) as prefixes. Each ValueSet's key is its id without the prefix.
/// </summary>
internal sealed class CodeSetIndex
{
    private readonly FrozenDictionary<(string System, string Code), ImmutableArray<string>> _concepts;
    private readonly (string System, string Prefix, string Key)[] _prefixes;
    private readonly ConcurrentDictionary<(string System, string Code), ImmutableArray<string>> _cache = new();

    private CodeSetIndex(
        FrozenDictionary<(string, string), ImmutableArray<string>> concepts,
        (string, string, string)[] prefixes,
        FrozenSet<string> keys,
        ImmutableArray<(string System, string Display, string Key)> conceptDisplays,
        ImmutableArray<(string System, string Code, string Display)> conceptCodes)
    {
        ConceptCodes = conceptCodes;
        _concepts = concepts;
        _prefixes = prefixes;
        Keys = keys;
        ConceptDisplays = conceptDisplays;
    }

    public FrozenSet<string> Keys { get; }

    public ImmutableArray<(string System, string Display, string Key)> ConceptDisplays { get; }

    /// <summary>Every listed concept with its display: (system, code, display).</summary>
    public ImmutableArray<(string System, string Code, string Display)> ConceptCodes { get; }

    public ImmutableArray<string> Match(string system, string code) => _cache.GetOrAdd((system, code), key =>
    {
        var normalized = CodeSystems.NormalizeCode(key.System, key.Code);
        var keys = new SortedSet<string>(StringComparer.Ordinal);
        if (_concepts.TryGetValue((key.System, normalized), out var direct))
        {
            keys.UnionWith(direct);
        }

        foreach (var (prefixSystem, prefix, setKey) in _prefixes)
        {
            if (string.Equals(prefixSystem, key.System, StringComparison.Ordinal) && normalized.StartsWith(prefix, StringComparison.Ordinal))
            {
                keys.Add(setKey);
            }
        }

        return [.. keys];
    });

    public static CodeSetIndex Parse(string bundleJson, string idPrefix, string documentName, List<string> problems)
    {
        var concepts = new Dictionary<(string, string), SortedSet<string>>();
        var prefixes = new List<(string, string, string)>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var displays = ImmutableArray.CreateBuilder<(string, string, string)>();
        var codes = ImmutableArray.CreateBuilder<(string, string, string)>();
        try
        {
            using var document = JsonDocument.Parse(bundleJson);
            foreach (var entry in document.RootElement.GetProperty("entry").EnumerateArray())
            {
                var valueSet = entry.GetProperty("resource");
                var id = valueSet.GetProperty("id").GetString() ?? "";
                if (!string.Equals(valueSet.GetProperty("resourceType").GetString(), "ValueSet", StringComparison.Ordinal)
                    || !id.StartsWith(idPrefix, StringComparison.Ordinal))
                {
                    problems.Add($"{documentName}: entry '{id}' is not a ValueSet with an id starting '{idPrefix}'");
                    continue;
                }

                var key = id[idPrefix.Length..];
                if (!keys.Add(key))
                {
                    problems.Add($"{documentName}: ValueSet '{id}' appears twice");
                }

                if (!valueSet.TryGetProperty("description", out var description) || string.IsNullOrWhiteSpace(description.GetString()))
                {
                    problems.Add($"{documentName}: ValueSet '{id}' has no description naming the source of its codes");
                }

                foreach (var include in valueSet.GetProperty("compose").GetProperty("include").EnumerateArray())
                {
                    var system = include.GetProperty("system").GetString()!;
                    if (include.TryGetProperty("concept", out var conceptList))
                    {
                        foreach (var concept in conceptList.EnumerateArray())
                        {
                            var code = CodeSystems.NormalizeCode(system, concept.GetProperty("code").GetString()!);
                            if (!concepts.TryGetValue((system, code), out var set))
                            {
                                concepts[(system, code)] = set = new SortedSet<string>(StringComparer.Ordinal);
                            }

                            set.Add(key);
                            if (concept.TryGetProperty("display", out var display) && display.GetString() is { Length: > 0 } text)
                            {
                                displays.Add((system, text, key));
                                codes.Add((system, code, text));
                            }
                        }
                    }

                    if (include.TryGetProperty("filter", out var filters))
                    {
                        foreach (var filter in filters.EnumerateArray())
                        {
                            if (!CodeSystems.IsPrefixHierarchy(system) || !string.Equals(filter.GetProperty("op").GetString(), "is-a", StringComparison.Ordinal))
                            {
                                problems.Add($"{documentName}: ValueSet '{id}' filters {system} with '{filter.GetProperty("op").GetString()}', " +
                                    "which cannot be evaluated offline (only is-a on ICD-10-CM and ATC)");
                                continue;
                            }

                            prefixes.Add((system, CodeSystems.NormalizeCode(system, filter.GetProperty("value").GetString()!), key));
                        }
                    }
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            problems.Add($"{documentName}: {ex.Message}");
        }

        return new CodeSetIndex(
            concepts.ToFrozenDictionary(kv => kv.Key, kv => kv.Value.ToImmutableArray()),
            [.. prefixes],
            keys.ToFrozenSet(StringComparer.Ordinal),
            displays.ToImmutable(),
            codes.ToImmutable());
    }
}
