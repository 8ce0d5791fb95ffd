using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace HealthRec.Clinical.Terminology;

/// <summary>An RxNorm ingredient HealthRec's medication classes list: its RXCUI and name.</summary>
public readonly record struct Ingredient(string Code, string Name);

/// <summary>What a medicine is, as far as the terminology knows: its classes and its RxNorm ingredients (either may be empty).</summary>
public sealed record MedicationIdentity(ImmutableArray<string> Classes, ImmutableArray<Ingredient> Ingredients)
{
    public static readonly MedicationIdentity Unknown = new([], []);

    public bool IsKnown => !Classes.IsEmpty || !Ingredients.IsEmpty;
}

/// <summary>The terminology documents, as text (reading them from disk is the caller's job: this project does no I/O).</summary>
public sealed record TerminologyDocuments(string Conditions, string Medications, string Analytes, string StatinIntensity);

/// <summary>
/// Maps codes to what HealthRec's features know: condition groups (from ValueSets of SNOMED CT and ICD-10-CM),
/// medication classes (RxNorm ingredients, ATC groups, ingredient names in product names, statin intensity),
/// and analytes (LOINC). Built once from <see cref="TerminologyDocuments"/>; lookups are cached and thread-safe.
/// </summary>
public sealed partial class ClinicalTerminology
{
    private readonly CodeSetIndex _conditions;
    private readonly CodeSetIndex _medications;
    private readonly (string Name, string Class)[] _ingredientNames;
    private readonly FrozenDictionary<string, string> _ingredientByCode;
    private readonly (string Name, string Code)[] _ingredientCodesByName;
    private readonly FrozenDictionary<string, (double Min, double Max)> _highIntensity;
    private readonly FrozenDictionary<string, (double Min, double Max)> _moderateIntensity;
    private readonly FrozenDictionary<string, Analyte> _analyteByLoinc;
    private readonly FrozenDictionary<string, CodedAnalyte> _codedByLoinc;
    private readonly FrozenDictionary<string, ImmutableArray<string>> _panels;
    private readonly ConcurrentDictionary<(string System, string Code, string? Display), ImmutableArray<string>> _medicationCache = new();
    private readonly ConcurrentDictionary<(string System, string Code, string? Display), MedicationIdentity> _identityCache = new();

    private ClinicalTerminology(
        CodeSetIndex conditions,
        CodeSetIndex medications,
        (string Name, string Class)[] ingredientNames,
        FrozenDictionary<string, (double, double)> highIntensity,
        FrozenDictionary<string, (double, double)> moderateIntensity,
        ImmutableArray<Analyte> analytes,
        ImmutableArray<CodedAnalyte> coded,
        FrozenDictionary<string, ImmutableArray<string>> panels)
    {
        _conditions = conditions;
        _medications = medications;
        _ingredientNames = ingredientNames;
        var rxnorm = medications.ConceptCodes.Where(c => string.Equals(c.System, CodeSystems.RxNorm, StringComparison.Ordinal)).ToList();
        _ingredientByCode = rxnorm.GroupBy(c => c.Code, StringComparer.Ordinal).ToFrozenDictionary(g => g.Key, g => g.First().Display.ToLowerInvariant(), StringComparer.Ordinal);
        _ingredientCodesByName = [.. rxnorm.Select(c => (Name: c.Display.ToLowerInvariant(), c.Code)).Distinct().OrderByDescending(c => c.Name.Length)];
        _highIntensity = highIntensity;
        _moderateIntensity = moderateIntensity;
        Analytes = analytes;
        CodedAnalytes = coded;
        _analyteByLoinc = analytes.SelectMany(a => a.LoincCodes.Select(code => (code, a))).ToFrozenDictionary(p => p.code, p => p.a, StringComparer.Ordinal);
        _codedByLoinc = coded.SelectMany(a => a.LoincCodes.Select(code => (code, a))).ToFrozenDictionary(p => p.code, p => p.a, StringComparer.Ordinal);
        _panels = panels;
    }

    public ImmutableArray<Analyte> Analytes { get; }

    public ImmutableArray<CodedAnalyte> CodedAnalytes { get; }

    public IReadOnlySet<string> ConditionGroups => _conditions.Keys;

    /// <summary>Medication classes, including the statin intensity classes derived from doses.</summary>
    public IReadOnlySet<string> MedicationClasses { get; private init; } = FrozenSet<string>.Empty;

    public Analyte? AnalyteForLoinc(string code) => _analyteByLoinc.GetValueOrDefault(code);

    public CodedAnalyte? CodedAnalyteForLoinc(string code) => _codedByLoinc.GetValueOrDefault(code);

    /// <summary>The component LOINC codes of a panel (e.g. blood pressure 55284-4), or empty.</summary>
    public ImmutableArray<string> PanelComponents(string code) => _panels.GetValueOrDefault(code, []);

    public ImmutableArray<string> ConditionGroupsOf(string system, string code) => _conditions.Match(system, code);

    /// <summary>
    /// The classes of a medication: by its code (RxNorm ingredient, ATC group), else by the ingredient names in its
    /// RxNorm product name; a statin with a readable dose also gets its ACC/AHA intensity class.
    /// </summary>
    public ImmutableArray<string> MedicationClassesOf(string system, string code, string? display) =>
        Bounded(_medicationCache).GetOrAdd((system, code, display), key => ClassifyMedication(key.System, key.Code, key.Display));

    /// <summary>Entries a lookup cache keeps at most: names come from outside, and a caller sending ever new ones must not grow memory without end.</summary>
    internal const int MaxCached = 50_000;

    private static ConcurrentDictionary<TKey, TValue> Bounded<TKey, TValue>(ConcurrentDictionary<TKey, TValue> cache)
        where TKey : notnull
    {
        if (cache.Count >= MaxCached)
        {
            cache.Clear();
        }

        return cache;
    }

    /// <summary>
    /// The medicine's classes and RxNorm ingredients: an ingredient by its own RXCUI, and every ingredient whose name the
    /// product's name holds as a word (RxNorm names each product by its ingredients, so "Amoxicillin 250 MG / Clavulanate
    /// 125 MG Oral Tablet" names amoxicillin). Unknown when neither the code nor the name says anything the terminology knows.
    /// </summary>
    public MedicationIdentity IdentifyMedication(string system, string code, string? display) =>
        Bounded(_identityCache).GetOrAdd((system, code, display), key =>
        {
            var ingredients = new SortedDictionary<string, string>(StringComparer.Ordinal);
            if (string.Equals(key.System, CodeSystems.RxNorm, StringComparison.Ordinal) && _ingredientByCode.TryGetValue(key.Code, out var own))
            {
                ingredients[key.Code] = own;
            }

            if (key.Display?.ToLowerInvariant() is { } text)
            {
                foreach (var (name, rxcui) in _ingredientCodesByName)
                {
                    if (ContainsWord(text, name))
                    {
                        ingredients[rxcui] = name;
                    }
                }
            }

            return new MedicationIdentity(MedicationClassesOf(key.System, key.Code, key.Display), [.. ingredients.Select(i => new Ingredient(i.Key, i.Value))]);
        });

    /// <summary>The RxNorm ingredients whose names <paramref name="text"/> holds as words (e.g. an allergy recorded as text).</summary>
    public ImmutableArray<Ingredient> IngredientsNamedIn(string text)
    {
        var lower = text.ToLowerInvariant();
        return [.. _ingredientCodesByName.Where(i => ContainsWord(lower, i.Name)).Select(i => new Ingredient(i.Code, i.Name)).Distinct()];
    }

    /// <summary>An RxNorm ingredient's name, or null when the terminology does not list it.</summary>
    public string? IngredientName(string rxcui) => _ingredientByCode.GetValueOrDefault(rxcui);

    public static ClinicalTerminology Parse(TerminologyDocuments documents)
    {
        var problems = new List<string>();
        var conditions = CodeSetIndex.Parse(documents.Conditions, "condition-", "conditions", problems);
        var medications = CodeSetIndex.Parse(documents.Medications, "medication-", "medications", problems);
        var ingredients = medications.ConceptDisplays
            .Where(c => string.Equals(c.System, CodeSystems.RxNorm, StringComparison.Ordinal))
            .Select(c => (Name: c.Display.ToLowerInvariant(), c.Key))
            .OrderByDescending(c => c.Name.Length)
            .ToArray();
        var (analytes, coded, panels) = ParseAnalytes(documents.Analytes, problems);
        var (high, moderate) = ParseStatinIntensity(documents.StatinIntensity, problems);
        if (problems.Count > 0)
        {
            throw new TerminologyException("Invalid terminology: " + string.Join("; ", problems));
        }

        var classes = medications.Keys.Concat(["statin-high-intensity", "statin-moderate-intensity", "statin-low-intensity"]);
        return new ClinicalTerminology(conditions, medications, ingredients, high, moderate, analytes, coded, panels)
        {
            MedicationClasses = classes.ToFrozenSet(StringComparer.Ordinal),
        };
    }

    private ImmutableArray<string> ClassifyMedication(string system, string code, string? display)
    {
        var classes = new SortedSet<string>(_medications.Match(system, code), StringComparer.Ordinal);
        var text = display?.ToLowerInvariant();
        if (text is not null)
        {
            foreach (var (name, @class) in _ingredientNames)
            {
                if (ContainsWord(text, name))
                {
                    classes.Add(@class);
                }
            }
        }

        if (classes.Contains("statin") && text is not null && StatinDose().Match(text) is { Success: true } dose)
        {
            var ingredient = dose.Groups["ingredient"].Value;
            var mg = double.Parse(dose.Groups["mg"].Value, CultureInfo.InvariantCulture);
            classes.Add(InRange(_highIntensity, ingredient, mg) ? "statin-high-intensity"
                : InRange(_moderateIntensity, ingredient, mg) ? "statin-moderate-intensity"
                : "statin-low-intensity");
        }

        return [.. classes];
    }

    private static double? Bound(JsonElement value) => value.ValueKind == JsonValueKind.Null ? null : value.GetDouble();

    private static bool InRange(FrozenDictionary<string, (double Min, double Max)> table, string ingredient, double mg) =>
        table.TryGetValue(ingredient, out var range) && mg >= range.Min && mg <= range.Max;

    internal static bool ContainsWord(string text, string word)
    {
        for (var start = text.IndexOf(word, StringComparison.Ordinal); start >= 0; start = text.IndexOf(word, start + 1, StringComparison.Ordinal))
        {
            var end = start + word.Length;
            if ((start == 0 || !char.IsLetter(text[start - 1])) && (end == text.Length || !char.IsLetter(text[end])))
            {
                return true;
            }
        }

        return false;
    }

    [GeneratedRegex(@"(?<ingredient>atorvastatin|rosuvastatin|simvastatin|pravastatin|lovastatin|fluvastatin|pitavastatin)\b[^0-9/]*?(?<mg>\d+(\.\d+)?)\s*mg\b")]
    private static partial Regex StatinDose();

    private static (ImmutableArray<Analyte>, ImmutableArray<CodedAnalyte>, FrozenDictionary<string, ImmutableArray<string>>) ParseAnalytes(
        string json, List<string> problems)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            var analytes = root.GetProperty("analytes").EnumerateArray().Select(a => new Analyte(
                a.GetProperty("id").GetString()!,
                a.GetProperty("title").GetString()!,
                a.GetProperty("unit").GetString()!,
                [.. a.GetProperty("loinc").EnumerateArray().Select(c => c.GetString()!)],
                [.. a.GetProperty("conversions").EnumerateArray().Select(c => new UnitConversion(
                    c.GetProperty("unit").GetString()!,
                    c.GetProperty("factor").GetDouble(),
                    c.TryGetProperty("offset", out var offset) ? offset.GetDouble() : 0,
                    c.GetProperty("source").GetString()!,
                    c.TryGetProperty("equivalence", out var equivalence) && equivalence.GetBoolean()))],
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
            }).ToImmutableArray();
            var coded = root.GetProperty("coded").EnumerateArray().Select(c => new CodedAnalyte(
                c.GetProperty("id").GetString()!,
                c.GetProperty("title").GetString()!,
                [.. c.GetProperty("loinc").EnumerateArray().Select(code => code.GetString()!)],
                c.GetProperty("system").GetString()!,
                c.GetProperty("values").EnumerateObject()
                    .SelectMany(v => v.Value.EnumerateArray().Select(pair => (Code: pair[0].GetString()!, Value: int.Parse(v.Name, CultureInfo.InvariantCulture))))
                    .ToImmutableDictionary(p => p.Code, p => p.Value, StringComparer.Ordinal),
                [.. c.GetProperty("unknown").EnumerateArray().Select(pair => pair[0].GetString()!)])
            {
                Labels = c.GetProperty("values").EnumerateObject().ToImmutableDictionary(
                    v => int.Parse(v.Name, CultureInfo.InvariantCulture), v => v.Value.EnumerateArray().First()[1].GetString()!),
            }).ToImmutableArray();
            var panels = root.GetProperty("panels").EnumerateArray().ToFrozenDictionary(
                p => p.GetProperty("loinc").GetString()!,
                p => p.GetProperty("components").EnumerateArray().Select(c => c.GetString()!).ToImmutableArray(),
                StringComparer.Ordinal);
            foreach (var duplicate in analytes.SelectMany(a => a.LoincCodes).Concat(coded.SelectMany(c => c.LoincCodes))
                .GroupBy(code => code, StringComparer.Ordinal).Where(g => g.Count() > 1))
            {
                problems.Add($"analytes: LOINC {duplicate.Key} is listed for more than one analyte");
            }

            return (analytes, coded, panels);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or IndexOutOfRangeException or ArgumentException)
        {
            problems.Add($"analytes: {ex.Message}");
            return ([], [], FrozenDictionary<string, ImmutableArray<string>>.Empty);
        }
    }

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
