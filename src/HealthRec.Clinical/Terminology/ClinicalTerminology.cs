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

/// <summary>
/// The terminology documents, as text (reading them from disk is the caller's job: this project does no I/O). A site's
/// <see cref="Others"/> add to them: ValueSets (alone or in a Bundle) whose ids start <c>condition-</c>,
/// <c>medication-</c>, <c>procedure-</c> or <c>encounter-</c> join the condition groups, medication classes, procedure
/// groups or encounter groups (by <c>Encounter.type</c>), any other
/// ValueSet can be named by an analyte,
/// and a document with <c>analytes</c>, <c>coded</c> or <c>panels</c> adds analytes.
/// </summary>
public sealed record TerminologyDocuments(string Conditions, string Medications, string Analytes, string StatinIntensity)
{
    public ImmutableArray<TerminologyDocument> Others { get; init; } = [];
}

/// <summary>
/// Maps codes to what HealthRec's features know: condition groups (from ValueSets of SNOMED CT and ICD-10-CM),
/// medication classes (RxNorm ingredients, ATC groups, ingredient names in product names, statin intensity),
/// and analytes (by codes of any system: LOINC, a site's local codes). Built once from <see cref="TerminologyDocuments"/>; lookups are cached and thread-safe.
/// </summary>
public sealed partial class ClinicalTerminology
{
    private readonly CodeSetIndex _conditions;
    private readonly CodeSetIndex _medications;
    private readonly CodeSetIndex _procedures;
    private readonly CodeSetIndex _encounters;
    private readonly (string Name, string Class)[] _ingredientNames;
    private readonly FrozenDictionary<string, string> _ingredientByCode;
    private readonly (string Name, string Code)[] _ingredientCodesByName;
    private readonly FrozenDictionary<string, (double Min, double Max)> _highIntensity;
    private readonly FrozenDictionary<string, (double Min, double Max)> _moderateIntensity;
    private readonly FrozenDictionary<SystemCode, Analyte> _analyteByCode;
    private readonly FrozenDictionary<SystemCode, CodedAnalyte> _codedByCode;
    private readonly FrozenDictionary<SystemCode, ImmutableArray<SystemCode>> _panels;
    private readonly ConcurrentDictionary<(string System, string Code, string? Display), ImmutableArray<string>> _medicationCache = new();
    private readonly ConcurrentDictionary<(string System, string Code, string? Display), MedicationIdentity> _identityCache = new();

    private ClinicalTerminology(
        CodeSetIndex conditions,
        CodeSetIndex medications,
        CodeSetIndex procedures,
        CodeSetIndex encounters,
        (string Name, string Class)[] ingredientNames,
        FrozenDictionary<string, (double, double)> highIntensity,
        FrozenDictionary<string, (double, double)> moderateIntensity,
        ImmutableArray<Analyte> analytes,
        ImmutableArray<CodedAnalyte> coded,
        FrozenDictionary<SystemCode, ImmutableArray<SystemCode>> panels)
    {
        _conditions = conditions;
        _medications = medications;
        _procedures = procedures;
        _encounters = encounters;
        _ingredientNames = ingredientNames;
        var rxnorm = medications.ConceptCodes.Where(c => string.Equals(c.System, CodeSystems.RxNorm, StringComparison.Ordinal)).ToList();
        _ingredientByCode = rxnorm.GroupBy(c => c.Code, StringComparer.Ordinal).ToFrozenDictionary(g => g.Key, g => g.First().Display.ToLowerInvariant(), StringComparer.Ordinal);
        _ingredientCodesByName = [.. rxnorm.Select(c => (Name: c.Display.ToLowerInvariant(), c.Code)).Distinct().OrderByDescending(c => c.Name.Length)];
        _highIntensity = highIntensity;
        _moderateIntensity = moderateIntensity;
        Analytes = analytes;
        CodedAnalytes = coded;
        _analyteByCode = analytes.SelectMany(a => a.Codes.Select(code => (code, a))).ToFrozenDictionary(p => p.code, p => p.a);
        _codedByCode = coded.SelectMany(a => a.Codes.Select(code => (code, a))).ToFrozenDictionary(p => p.code, p => p.a);
        _panels = panels;
    }

    public ImmutableArray<Analyte> Analytes { get; }

    public ImmutableArray<CodedAnalyte> CodedAnalytes { get; }

    public IReadOnlySet<string> ConditionGroups => _conditions.Keys;

    /// <summary>Procedure groups: a site's ValueSets whose ids start <c>procedure-</c>.</summary>
    public IReadOnlySet<string> ProcedureGroups => _procedures.Keys;

    public ImmutableArray<string> ProcedureGroupsOf(string system, string code) => _procedures.Match(system, code);

    /// <summary>Encounter groups (by <c>Encounter.type</c>): a site's ValueSets whose ids start <c>encounter-</c>.</summary>
    public IReadOnlySet<string> EncounterGroups => _encounters.Keys;

    public ImmutableArray<string> EncounterGroupsOf(string system, string code) => _encounters.Match(system, code);

    /// <summary>Medication classes, including the statin intensity classes derived from doses.</summary>
    public IReadOnlySet<string> MedicationClasses { get; private init; } = FrozenSet<string>.Empty;

    /// <summary>The analyte a coding reports, in any code system the terminology lists for it.</summary>
    public Analyte? AnalyteFor(string system, string code) => _analyteByCode.GetValueOrDefault(new SystemCode(system, code.Trim()));

    public CodedAnalyte? CodedAnalyteFor(string system, string code) => _codedByCode.GetValueOrDefault(new SystemCode(system, code.Trim()));

    /// <summary>The component codes of a panel (e.g. blood pressure, LOINC 55284-4), or empty.</summary>
    public ImmutableArray<SystemCode> PanelComponents(string system, string code) => _panels.GetValueOrDefault(new SystemCode(system, code.Trim()), []);

    /// <summary>Every code an Observation may carry for HealthRec to read it: analytes, coded analytes and panels.</summary>
    public IEnumerable<SystemCode> ObservationCodes => _analyteByCode.Keys.Concat(_codedByCode.Keys).Concat(_panels.Keys);

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
        var isAnalytes = documents.Others.ToLookup(IsAnalyteDocument);
        var valueSetDocuments = isAnalytes[false].ToList();
        var analyteDocuments = isAnalytes[true].Prepend(new TerminologyDocument("analytes.json", documents.Analytes)).ToList();
        var conditions = CodeSetIndex.Parse(
            valueSetDocuments.Select(d => (d, false)).Prepend((new TerminologyDocument("conditions.json", documents.Conditions), true)), "condition-", problems);
        var medications = CodeSetIndex.Parse(
            valueSetDocuments.Select(d => (d, false)).Prepend((new TerminologyDocument("medications.json", documents.Medications), true)), "medication-", problems);
        var ingredients = medications.ConceptDisplays
            .Where(c => string.Equals(c.System, CodeSystems.RxNorm, StringComparison.Ordinal))
            .Select(c => (Name: c.Display.ToLowerInvariant(), c.Key))
            .OrderByDescending(c => c.Name.Length)
            .ToArray();
        var procedures = CodeSetIndex.Parse(valueSetDocuments.Select(d => (d, false)), "procedure-", problems);
        var encounters = CodeSetIndex.Parse(valueSetDocuments.Select(d => (d, false)), "encounter-", problems);
        _ = CodeSetIndex.Parse(valueSetDocuments.Select(d => (d, true)), "", problems); // every site ValueSet well formed, whatever its use
        var (analytes, coded, panels) = ParseAnalytes(analyteDocuments, valueSetDocuments, problems);
        var (high, moderate) = ParseStatinIntensity(documents.StatinIntensity, problems);
        if (problems.Count > 0)
        {
            throw new TerminologyException("Invalid terminology: " + string.Join("; ", problems.Distinct(StringComparer.Ordinal)));
        }

        var classes = medications.Keys.Concat(["statin-high-intensity", "statin-moderate-intensity", "statin-low-intensity"]);
        return new ClinicalTerminology(conditions, medications, procedures, encounters, ingredients, high, moderate, analytes, coded, panels)
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

    // A site's document is an analyte document when it is a JSON object with analytes, coded or panels and no resourceType.
    private static bool IsAnalyteDocument(TerminologyDocument document)
    {
        try
        {
            using var parsed = JsonDocument.Parse(document.Json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
            var root = parsed.RootElement;
            return root.ValueKind == JsonValueKind.Object && !root.TryGetProperty("resourceType", out _)
                && (root.TryGetProperty("analytes", out _) || root.TryGetProperty("coded", out _) || root.TryGetProperty("panels", out _));
        }
        catch (JsonException)
        {
            return false; // reported by the value set reader, which names the file
        }
    }

    // The codes an analyte, coded analyte or panel declares: "codes" as system|code tokens, and "valueSet" naming a ValueSet.
    private static ImmutableArray<SystemCode> DeclaredCodes(JsonElement element, string where, List<TerminologyDocument> valueSets, List<string> problems)
    {
        var codes = new List<SystemCode>();
        if (element.TryGetProperty("loinc", out _))
        {
            problems.Add($"{where}: 'loinc' was renamed 'codes', a list of system|code tokens (\"http://loinc.org|4548-4\"), so that any code system can be used");
        }

        if (element.TryGetProperty("codes", out var list))
        {
            foreach (var (token, i) in list.EnumerateArray().Select((t, i) => (t, i)))
            {
                if (token.ValueKind != JsonValueKind.String || SystemCode.Parse(token.GetString()!) is not { } code)
                {
                    problems.Add($"{where}.codes[{i}]: '{token}' is not a system|code token (e.g. \"http://loinc.org|4548-4\" or \"urn:site:lab|GLU\")");
                    continue;
                }

                codes.Add(code);
            }
        }

        if (element.TryGetProperty("valueSet", out var reference))
        {
            codes.AddRange(CodeSetIndex.Codes(valueSets, reference.GetString() ?? "", where, problems));
        }

        if (codes.Count == 0)
        {
            problems.Add($"{where}: no codes (give 'codes' as system|code tokens or 'valueSet' naming a ValueSet)");
        }

        return [.. codes.Distinct()];
    }
}
