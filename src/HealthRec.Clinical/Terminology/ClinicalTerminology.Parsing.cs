namespace HealthRec.Clinical.Terminology;

/// <summary>Reading the terminology's documents: analytes (with their units and panels) and the statin intensity table, every problem collected.</summary>
public sealed partial class ClinicalTerminology
{
    private static (ImmutableArray<Analyte>, ImmutableArray<CodedAnalyte>, FrozenDictionary<SystemCode, ImmutableArray<SystemCode>>) ParseAnalytes(
        List<TerminologyDocument> documents, List<TerminologyDocument> valueSets, List<string> problems)
    {
        var analytes = ImmutableArray.CreateBuilder<Analyte>();
        var coded = ImmutableArray.CreateBuilder<CodedAnalyte>();
        var panels = new Dictionary<SystemCode, ImmutableArray<SystemCode>>();
        var declaredAt = new List<(string Id, string Where)>(); // where each analyte is declared, for a duplicate's message
        foreach (var document in documents)
        {
            var where = document.Name;
            try
            {
                using var parsed = JsonDocument.Parse(document.Json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
                var root = parsed.RootElement;
                foreach (var (a, i) in Members(root, "analytes"))
                {
                    where = $"{document.Name}: analytes[{i}]";
                    analytes.Add(new Analyte(
                        a.GetProperty("id").GetString()!,
                        a.GetProperty("title").GetString()!,
                        a.GetProperty("unit").GetString()!,
                        DeclaredCodes(a, where, valueSets, problems),
                        [.. Members(a, "conversions").Select(c => new UnitConversion(
                            c.Element.GetProperty("unit").GetString()!,
                            c.Element.GetProperty("factor").GetDouble(),
                            c.Element.TryGetProperty("offset", out var offset) ? offset.GetDouble() : 0,
                            c.Element.GetProperty("source").GetString()!,
                            c.Element.TryGetProperty("equivalence", out var equivalence) && equivalence.GetBoolean()))],
                        a.GetProperty("plausible")[0].GetDouble(),
                        a.GetProperty("plausible")[1].GetDouble())
                    {
                        Spellings = a.TryGetProperty("spellings", out var spellings)
                            ? spellings.EnumerateObject().SelectMany(u => u.Value.EnumerateArray().Select(x => (Spelling: x.GetString()!, Unit: u.Name)))
                                .ToImmutableDictionary(x => x.Spelling, x => x.Unit, StringComparer.Ordinal)
                            : ImmutableDictionary<string, string>.Empty,
                        Reference = a.TryGetProperty("reference", out var reference)
                            ? (Bound(reference.GetProperty("low")), Bound(reference.GetProperty("high")))
                            : (null, null),
                    });
                    declaredAt.Add((analytes[^1].Id, where));
                }

                foreach (var (c, i) in Members(root, "coded"))
                {
                    where = $"{document.Name}: coded[{i}]";
                    var system = c.GetProperty("system").GetString()!;
                    string Token(JsonElement pair) => pair[0].GetString()! is var code && code.Contains('|', StringComparison.Ordinal) ? code : $"{system}|{code}";
                    var values = c.GetProperty("values").EnumerateObject()
                        .SelectMany(v => v.Value.EnumerateArray().Select(pair => (Pair: pair, Value: int.Parse(v.Name, CultureInfo.InvariantCulture)))).ToList();
                    coded.Add(new CodedAnalyte(
                        c.GetProperty("id").GetString()!,
                        c.GetProperty("title").GetString()!,
                        DeclaredCodes(c, where, valueSets, problems),
                        system,
                        values.ToImmutableDictionary(p => Token(p.Pair), p => p.Value, StringComparer.Ordinal),
                        [.. Members(c, "unknown").Select(pair => Token(pair.Element))])
                    {
                        Labels = c.GetProperty("values").EnumerateObject().ToImmutableDictionary(
                            v => int.Parse(v.Name, CultureInfo.InvariantCulture), v => v.Value.EnumerateArray().First()[1].GetString()!),
                        ValueByText = values
                            .SelectMany(p => new[] { p.Pair[0].GetString()!, p.Pair.GetArrayLength() > 1 ? p.Pair[1].GetString()! : p.Pair[0].GetString()! }
                                .Select(text => (Text: text.ToLowerInvariant(), p.Value)))
                            .DistinctBy(p => p.Text).ToImmutableDictionary(p => p.Text, p => p.Value, StringComparer.Ordinal),
                    });
                    declaredAt.Add((coded[^1].Id, where));
                }

                foreach (var (p, i) in Members(root, "panels"))
                {
                    where = $"{document.Name}: panels[{i}]";
                    var components = p.GetProperty("components").EnumerateArray()
                        .Select(c => SystemCode.Parse(c.GetString() ?? "") ?? throw new FormatException($"component '{c}' is not a system|code token")).ToImmutableArray();
                    foreach (var code in DeclaredCodes(p, where, valueSets, problems))
                    {
                        panels[code] = components;
                    }
                }
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or IndexOutOfRangeException or ArgumentException)
            {
                problems.Add($"{where}: {ex.Message}");
            }
        }

        foreach (var duplicate in analytes.SelectMany(a => a.Codes.Select(code => (Code: code, a.Id))).Concat(coded.SelectMany(c => c.Codes.Select(code => (Code: code, c.Id))))
            .GroupBy(x => x.Code).Where(g => g.Count() > 1))
        {
            problems.Add($"analytes: {duplicate.Key} is listed for more than one analyte ({string.Join(", ", duplicate.Select(x => x.Id))})");
        }

        foreach (var duplicate in declaredAt.GroupBy(x => x.Id, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            problems.Add($"analytes: id '{duplicate.Key}' is declared more than once ({string.Join("; ", duplicate.Select(x => x.Where))})");
        }

        return (analytes.ToImmutable(), coded.ToImmutable(), panels.ToFrozenDictionary());
    }

    private static IEnumerable<(JsonElement Element, int Index)> Members(JsonElement element, string name) =>
        element.TryGetProperty(name, out var list) ? list.EnumerateArray().Select((e, i) => (e, i)) : [];

    private static (FrozenDictionary<string, (double, double)>, FrozenDictionary<string, (double, double)>) ParseStatinIntensity(
        string json, List<string> problems)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            FrozenDictionary<string, (double, double)> Read(string name) => document.RootElement.GetProperty(name).EnumerateObject()
                .ToFrozenDictionary(p => p.Name, p => (p.Value[0].GetDouble(), p.Value[1].GetDouble()), StringComparer.Ordinal);
            return (Read("high"), Read("moderate"));
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException)
        {
            problems.Add($"statin intensity: {ex.Message}");
            return (FrozenDictionary<string, (double, double)>.Empty, FrozenDictionary<string, (double, double)>.Empty);
        }
    }
}
