namespace HealthRec.Clinical.Terminology;

/// <summary>A terminology document as text, with the name problems are reported under.</summary>
public sealed record TerminologyDocument(string Name, string Json);

/// <summary>
/// FHIR ValueSets turned into a lookup from (system, code) to the keys of the sets that hold it. A set is read from its
/// <c>compose</c> (each <c>include</c> lists concepts, or filters <c>is-a</c> on a prefix-hierarchical system — ICD-10-CM,
/// ATC — or names only a system, which takes every code of it; each <c>exclude</c> lists concepts taken out) and from its
/// <c>expansion.contains</c>. A set's key is its id without the prefix (<c>condition-t2d</c> → <c>t2d</c>).
/// </summary>
internal sealed class CodeSetIndex(
    FrozenDictionary<(string System, string Code), ImmutableArray<string>> concepts,
    (string System, string Prefix, string Key)[] prefixes,
    FrozenSet<(string System, string Code, string Key)> excluded,
    FrozenSet<string> keys,
    ImmutableArray<(string System, string Display, string Key)> conceptDisplays,
    ImmutableArray<(string System, string Code, string Display)> conceptCodes)
{
    private readonly ConcurrentDictionary<(string System, string Code), ImmutableArray<string>> _cache = new();

    public FrozenSet<string> Keys { get; } = keys;

    public ImmutableArray<(string System, string Display, string Key)> ConceptDisplays { get; } = conceptDisplays;

    /// <summary>Every listed concept with its display: (system, code, display).</summary>
    public ImmutableArray<(string System, string Code, string Display)> ConceptCodes { get; } = conceptCodes;

    public ImmutableArray<string> Match(string system, string code) => _cache.GetOrAdd((system, code), key =>
    {
        var normalized = CodeSystems.NormalizeCode(key.System, key.Code);
        var sets = new SortedSet<string>(StringComparer.Ordinal);
        if (concepts.TryGetValue((key.System, normalized), out var direct))
        {
            sets.UnionWith(direct);
        }

        foreach (var (prefixSystem, prefix, setKey) in prefixes)
        {
            if (string.Equals(prefixSystem, key.System, StringComparison.Ordinal) && normalized.StartsWith(prefix, StringComparison.Ordinal))
            {
                sets.Add(setKey);
            }
        }

        sets.RemoveWhere(k => excluded.Contains((key.System, normalized, k)));
        return [.. sets];
    });

    /// <summary>
    /// Reads every ValueSet whose id starts with <paramref name="idPrefix"/> from the documents (a ValueSet, or a Bundle
    /// of them). In a <c>strict</c> document every entry must be such a ValueSet; other documents may hold ValueSets
    /// for other purposes, which are left to the index that reads them.
    /// </summary>
    public static CodeSetIndex Parse(IEnumerable<(TerminologyDocument Document, bool Strict)> documents, string idPrefix, List<string> problems)
    {
        var concepts = new Dictionary<(string, string), SortedSet<string>>();
        var prefixes = new List<(string, string, string)>();
        var excluded = new HashSet<(string, string, string)>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var displays = ImmutableArray.CreateBuilder<(string, string, string)>();
        var codes = ImmutableArray.CreateBuilder<(string, string, string)>();
        foreach (var (document, strict) in documents)
        {
            foreach (var (valueSet, path, problem) in ValueSets(document))
            {
                if (problem is not null)
                {
                    if (strict)
                    {
                        problems.Add(problem);
                    }

                    continue;
                }

                var id = valueSet.TryGetProperty("id", out var idElement) && idElement.ValueKind == JsonValueKind.String ? idElement.GetString()! : "";
                if (!id.StartsWith(idPrefix, StringComparison.Ordinal))
                {
                    if (strict)
                    {
                        problems.Add($"{document.Name}: {path} ('{id}') is not a ValueSet with an id starting '{idPrefix}'");
                    }

                    continue;
                }

                var key = id[idPrefix.Length..];
                var where = $"{document.Name}: {path} (ValueSet '{id}')";
                if (!keys.Add(key))
                {
                    problems.Add($"{where} appears twice");
                }

                if (!valueSet.TryGetProperty("description", out var description) || string.IsNullOrWhiteSpace(description.GetString()))
                {
                    problems.Add($"{where} has no description naming the source of its codes");
                }

                var listed = Concepts(valueSet, where, problems, out var filters, out var exclusions);
                foreach (var (system, code, display) in listed)
                {
                    if (!concepts.TryGetValue((system, code), out var set))
                    {
                        concepts[(system, code)] = set = new SortedSet<string>(StringComparer.Ordinal);
                    }

                    set.Add(key);
                    if (display is { Length: > 0 })
                    {
                        displays.Add((system, display, key));
                        codes.Add((system, code, display));
                    }
                }

                prefixes.AddRange(filters.Select(f => (f.System, f.Prefix, key)));
                excluded.UnionWith(exclusions.Select(e => (e.System, e.Code, key)));
            }
        }

        return new CodeSetIndex(
            concepts.ToFrozenDictionary(kv => kv.Key, kv => kv.Value.ToImmutableArray()),
            [.. prefixes],
            excluded.ToFrozenSet(),
            keys.ToFrozenSet(StringComparer.Ordinal),
            displays.ToImmutable(),
            codes.ToImmutable());
    }

    /// <summary>
    /// The codes of the ValueSet whose id or canonical url is <paramref name="reference"/>, found in the documents:
    /// its listed concepts and expansion, less its exclusions. A filter cannot be listed, so it is a problem here.
    /// </summary>
    public static ImmutableArray<SystemCode> Codes(IEnumerable<TerminologyDocument> documents, string reference, string usedBy, List<string> problems)
    {
        foreach (var document in documents)
        {
            foreach (var (valueSet, path, problem) in ValueSets(document))
            {
                if (problem is null && (Text(valueSet, "id") == reference || Text(valueSet, "url") == reference))
                {
                    var where = $"{document.Name}: {path} (ValueSet '{reference}')";
                    var listed = Concepts(valueSet, where, problems, out var filters, out var exclusions)
                        .Select(c => new SystemCode(c.System, c.Code)).Except(exclusions).Distinct().ToImmutableArray();
                    if (filters.Count > 0)
                    {
                        problems.Add($"{where}, used by {usedBy}, has a filter or a whole-system include: list its codes");
                    }

                    return listed;
                }
            }
        }

        problems.Add($"{usedBy}: value set '{reference}' is in no terminology document (give a ValueSet with that id or url)");
        return [];
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    // Each ValueSet of a document (the document itself, or its Bundle entries), with its JSON path, or why an entry is not one.
    private static IEnumerable<(JsonElement ValueSet, string Path, string? Problem)> ValueSets(TerminologyDocument document)
    {
        JsonElement root;
        try
        {
            using var parsed = JsonDocument.Parse(document.Json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
            root = parsed.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            return [(default, "", $"{document.Name}: not JSON: {ex.Message}")];
        }

        var type = root.ValueKind == JsonValueKind.Object ? Text(root, "resourceType") : null;
        if (type == "ValueSet")
        {
            return [(root, "ValueSet", null)];
        }

        if (type != "Bundle" || !root.TryGetProperty("entry", out var entries) || entries.ValueKind != JsonValueKind.Array)
        {
            return [(default, "", $"{document.Name}: not a ValueSet or a Bundle with entries")];
        }

        return entries.EnumerateArray().Select((entry, i) =>
            entry.ValueKind == JsonValueKind.Object && entry.TryGetProperty("resource", out var resource) && Text(resource, "resourceType") == "ValueSet"
                ? (resource, $"entry[{i}].resource", (string?)null)
                : (default, $"entry[{i}]", $"{document.Name}: entry[{i}] is not a ValueSet"));
    }

    private static List<(string System, string Code, string? Display)> Concepts(JsonElement valueSet, string where, List<string> problems,
        out List<(string System, string Prefix)> filters, out List<SystemCode> exclusions)
    {
        var concepts = new List<(string, string, string?)>();
        filters = [];
        exclusions = [];
        var read = false;
        if (valueSet.TryGetProperty("compose", out var compose))
        {
            read = true;
            foreach (var (part, index, include) in Parts(compose, "include").Select(p => (p.Element, p.Index, true))
                .Concat(Parts(compose, "exclude").Select(p => (p.Element, p.Index, false))))
            {
                var path = $"compose.{(include ? "include" : "exclude")}[{index}]";
                if (Text(part, "system") is not { Length: > 0 } system)
                {
                    problems.Add($"{where}: {path} has no system (a valueSet-only include is not supported: name the codes)");
                    continue;
                }

                var listed = part.TryGetProperty("concept", out var list) ? list : default;
                var filtered = part.TryGetProperty("filter", out var filterList) ? filterList : default;
                foreach (var (concept, i) in listed.ValueKind == JsonValueKind.Array ? list.EnumerateArray().Select((c, i) => (c, i)) : [])
                {
                    if (Text(concept, "code") is not { Length: > 0 } code)
                    {
                        problems.Add($"{where}: {path}.concept[{i}] has no code");
                        continue;
                    }

                    var normalized = CodeSystems.NormalizeCode(system, code);
                    if (include)
                    {
                        concepts.Add((system, normalized, Text(concept, "display")));
                    }
                    else
                    {
                        exclusions.Add(new SystemCode(system, normalized));
                    }
                }

                foreach (var (filter, i) in filtered.ValueKind == JsonValueKind.Array ? filterList.EnumerateArray().Select((f, i) => (f, i)) : [])
                {
                    var op = Text(filter, "op");
                    if (!include || !CodeSystems.IsPrefixHierarchy(system) || op != "is-a" || Text(filter, "value") is not { Length: > 0 } value)
                    {
                        problems.Add($"{where}: {path}.filter[{i}] ({system}, '{op}') cannot be evaluated offline: only an include's is-a on ICD-10-CM or ATC");
                        continue;
                    }

                    filters.Add((system, CodeSystems.NormalizeCode(system, value)));
                }

                if (include && listed.ValueKind != JsonValueKind.Array && filtered.ValueKind != JsonValueKind.Array)
                {
                    filters.Add((system, ""));
                }
            }
        }

        if (valueSet.TryGetProperty("expansion", out var expansion))
        {
            read = true;
            foreach (var (contains, i) in expansion.TryGetProperty("contains", out var list) && list.ValueKind == JsonValueKind.Array
                ? list.EnumerateArray().Select((c, i) => (c, i)) : [])
            {
                if (Text(contains, "system") is not { Length: > 0 } system || Text(contains, "code") is not { Length: > 0 } code)
                {
                    problems.Add($"{where}: expansion.contains[{i}] needs a system and a code");
                    continue;
                }

                concepts.Add((system, CodeSystems.NormalizeCode(system, code), Text(contains, "display")));
            }
        }

        if (!read)
        {
            problems.Add($"{where}: has neither compose nor expansion");
        }

        return concepts;
    }

    private static IEnumerable<(JsonElement Element, int Index)> Parts(JsonElement compose, string name) =>
        compose.TryGetProperty(name, out var list) && list.ValueKind == JsonValueKind.Array ? list.EnumerateArray().Select((e, i) => (e, i)) : [];
}
