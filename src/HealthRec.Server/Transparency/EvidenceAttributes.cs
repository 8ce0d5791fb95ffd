namespace HealthRec.Server.Transparency;

/// <summary>
/// The 13 evidence-based source attributes of HTI-1 (§170.315(b)(11)(iv)(A)) for each catalog intervention and for the
/// recommender that ranks them: the guideline each cites, who translated it, the dates, and — read from the rules
/// themselves and the ranker's features, not declared by hand — which of the demographic and other variables they use.
/// </summary>
public static partial class EvidenceAttributes
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    public static SourceAttributeSet ForIntervention(Intervention item, TransparencyOptions options, DateTimeOffset now)
    {
        // Each rule's terms, read once.
        var rules = Rules(item).Select(r => (r.Role, r.Rule, Terms: Terms().Matches(r.Rule.Text).Select(m => m.Value).ToHashSet(StringComparer.Ordinal))).ToList();
        var uses = Uses([.. rules.SelectMany(r => r.Terms)], t => string.Join("; ", rules.Where(r => r.Terms.Contains(t)).Select(r => $"{r.Role} '{r.Rule.Text}'")));
        var citations = item.Evidence.IsEmpty ? "None: the catalog entry cites no evidence." : string.Join(" ", item.Evidence.Select(e => $"{e.Citation}{(e.Url.Length > 0 ? $" <{e.Url}>" : "")}"));
        var developers = item.Evidence.IsEmpty ? "—" : string.Join("; ", item.Evidence.Select(e => e.Label).Distinct(StringComparer.Ordinal));
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["A.1"] = citations,
            ["A.2"] = $"{developers} (the guideline); translated into the catalog rule by {options.DeveloperName}.",
            ["A.3"] = options.FundingSource,
            ["A.4"] = Dates(item),
        };
        return Set($"interventions/{item.Id}", item.Revised?.UtcDateTime.ToString("yyyy-MM-dd", Ci) ?? "undated", values, uses, "the catalog entry's rules", now);
    }

    public static SourceAttributeSet ForRecommender(InterventionCatalog catalog, RecommenderManifest? ranker, TransparencyOptions options, DateTimeOffset now)
    {
        var items = catalog.Items;
        var ruleTerms = items.SelectMany(i => Rules(i)).SelectMany(r => Terms().Matches(r.Rule.Text).Select(m => m.Value)).ToList();
        var features = ranker?.FeatureNames.ToList() ?? [];
        var uses = Uses([.. ruleTerms, .. features], t =>
            (ruleTerms.Contains(t) ? "the catalog's rules" : "") + (features.Contains(t) ? (ruleTerms.Contains(t) ? " and " : "") + "the learned ranker's features" : ""));
        var guidelines = items.SelectMany(i => i.Evidence).Select(e => e.Label).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var revised = items.Select(i => i.Revised).Max();
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["A.1"] = string.Create(Ci, $"Each suggestion cites its own guideline ({items.Length} catalog entries, {guidelines.Count} sources): {string.Join("; ", guidelines)}. See /interventions/{{id}}/attributes."),
            ["A.2"] = $"The guidelines' developers (above); the catalog rules and the hybrid ranking by {options.DeveloperName}.",
            ["A.3"] = options.FundingSource,
            ["A.4"] = (revised is { } r ? string.Create(Ci, $"Catalog revised {r:yyyy-MM-dd}") : "Catalog undated")
                + (ranker is null ? "; no learned ranker (content-based order)." : string.Create(Ci, $"; learned ranker {ranker.Version} trained {ranker.TrainedAt:yyyy-MM-dd}.")),
        };
        return Set("recommender", ranker?.Version ?? "content-based", values, uses, ranker is null ? "the catalog's rules" : "the catalog's rules and the ranker's features", now);
    }

    private static SourceAttributeSet Set(string subject, string version, Dictionary<string, string> values, Dictionary<string, string> uses, string source, DateTimeOffset now)
    {
        // Every entry uses the date of birth at least through the catalog's minimum age (adult guidelines only).
        var adults = string.Create(Ci, $"the catalog's minimum age ({InterventionCatalog.MinimumAge}: adult guidelines only)");
        uses["A.11"] = uses.TryGetValue("A.11", out var age) ? $"{adults}; {age}" : adults;
        foreach (var (id, variable, _) in Hti1.VariablesUsed([]))
        {
            values[id] = uses.TryGetValue(id, out var where) ? $"Yes: {variable}, in {where}." : $"No: {variable} is not used.";
        }

        var attributes = Hti1.EvidenceAttributes.Select(a => new SourceAttributeEntry(a.Id, a.Group, a.Name, values[a.Id],
            a.Id is "A.1" or "A.2" ? "catalog relatedArtifact" : a.Id is "A.3" ? "Transparency:FundingSource" : a.Id is "A.4" ? "catalog date" : source)).ToList();
        return new SourceAttributeSet(subject, SourceAttributeSet.EvidenceBased, version, now, attributes);
    }

    // For each variable of (A)(5)–(13) some term stands for, where it is used.
    private static Dictionary<string, string> Uses(IReadOnlyList<string> terms, Func<string, string> where)
    {
        var uses = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (id, _, used) in Hti1.VariablesUsed(terms))
        {
            if (used.Count > 0)
            {
                // VariablesUsed returns the terms as given, so each names itself.
                uses[id] = string.Join("; ", used.Select(t => $"{t}: {where(t)}"));
            }
        }

        return uses;
    }

    private static IEnumerable<(string Role, Rule Rule)> Rules(Intervention item) =>
        [("indication", item.Indication.Rule), .. item.Contraindications.Select(c => ("contraindication", c.Rule)), .. item.Cautions.Select(c => ("caution", c.Rule))];

    private static string Dates(Intervention item)
    {
        var years = item.Evidence.Select(e => Year().Match(e.Citation)).Where(m => m.Success).Select(m => m.Value).Distinct(StringComparer.Ordinal).ToList();
        return (years.Count == 0 ? "Reference source undated" : $"Reference source published {string.Join(", ", years)}")
            + (item.Revised is { } r ? string.Create(Ci, $"; catalog entry revised {r:yyyy-MM-dd}.") : "; catalog entry undated.");
    }

    [GeneratedRegex(@"[A-Za-z_][A-Za-z0-9_]*")]
    private static partial Regex Terms();

    [GeneratedRegex(@"\b(19|20)\d{2}\b")]
    private static partial Regex Year();
}
