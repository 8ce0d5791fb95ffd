namespace HealthRec.ML.Recommendation;

/// <summary>The benefit expected for this patient: an estimate from an outcome model and the effect the catalog states.</summary>
public sealed record ExpectedBenefit(string Outcome, string OutcomeTitle, string ModelVersion, double RiskNow, double RiskWith, string Source)
{
    public double AbsoluteReduction => RiskNow - RiskWith;

    /// <summary>What gave the estimate: a published equation by name (its id is the version), else the model and its version.</summary>
    public string Estimator => Clinical.Risk.ReferenceModels.All.TryGetValue(ModelVersion, out var equation) ? equation.Name : $"model {Outcome} {ModelVersion}";

    public string Text => string.Create(CultureInfo.InvariantCulture,
        $"estimated {OutcomeTitle.ToLowerInvariant()}: {RiskNow:P0} → {RiskWith:P0} (an estimate: {Estimator}, effect from {Source})");
}

/// <summary>
/// One suggestion: what, why, on what evidence, and the benefit expected. <see cref="Score"/> is the content score (the
/// expected absolute risk reduction, or a guideline priority for items without a stated effect); for medicines the
/// learned ranker's score and the similar patients' evidence are given too when the hybrid is loaded.
/// </summary>
public sealed record Recommendation(
    Intervention Intervention,
    int Rank,
    double Score,
    ExpectedBenefit? Benefit,
    IReadOnlyList<string> Reasons,
    IReadOnlyList<string> Cautions,
    IReadOnlyList<Evidence> Evidence)
{
    public double? RankerScore { get; init; }

    /// <summary>False for a medicine offered only because similar patients were started on it (listed after every indicated item, and said so).</summary>
    public bool Indicated { get; init; } = true;

    public NeighbourEvidence? Neighbours { get; init; }

    /// <summary>What the suggestion rests on, in the order every face lists it: the reasons, the cautions, then the evidence.</summary>
    public IEnumerable<SupportLine> Support() =>
        [
            .. Reasons.Select(r => new SupportLine(SupportKind.Reason, r)),
            .. Cautions.Select(c => new SupportLine(SupportKind.Caution, c)),
            .. Evidence.Select(e => new SupportLine(SupportKind.Evidence, e.Recommendation, e)),
        ];
}

public enum SupportKind
{
    Reason,
    Caution,
    Evidence,
}

/// <summary>One line of a suggestion's support; <see cref="Source"/> is the guideline for an evidence line.</summary>
public sealed record SupportLine(SupportKind Kind, string Text, Evidence? Source = null);

/// <summary>The suggestions for one patient, and what was left out by the hard filters, with why.</summary>
public sealed record RecommendationSet(string PatientId, DateTimeOffset At, IReadOnlyList<Recommendation> Recommendations, IReadOnlyList<Exclusion> Excluded)
{
    /// <summary>Why no suggestion is made for this patient at all (a child, for an adult catalog), or null.</summary>
    public string? NotForPatient { get; init; }

    /// <summary>What ordered the list: "hybrid (recommender v3)" or "content".</summary>
    public string Ranking { get; init; } = "content";

    /// <summary>How the list is ordered, in words a clinician reads: exactly what <see cref="Recommender"/> did.</summary>
    public string OrderedBy => Ranking == "content"
        ? "Ordered by expected benefit for this patient: the absolute risk reduction estimated from the outcome models and the catalog's stated effect, else the guideline's strength."
        : $"Ordered by expected benefit for this patient (the estimated absolute risk reduction, else the guideline's strength), with the medicines among them placed by the learned ranker ({Ranking}); a medicine offered only because similar patients were started on it comes after every indicated item.";
}

/// <summary>
/// The hybrid recommender. Candidates are the catalog items whose indication holds for the patient. Content ranks them all by the absolute risk reduction
/// expected for this patient (the outcome model's estimate, times the relative risk the catalog states) or, for items
/// without a stated effect, by the strength of the guideline recommendation. When a trained <see cref="HybridRanker"/>
/// is given, the medicines among them are re-ordered by it — it weighs the content signal, what followed in the most
/// similar patients of the training population, and the patient's features — in the places content gave medicines, so
/// lifestyle, screening and referral items keep their content-based places. With the hybrid, a medicine whose indication
/// does not hold but which at least <see cref="HybridRanker.ConsiderSupport"/> of the 25 most similar patients were
/// started on is offered after every indicated item, marked as not indicated and saying why it is there, but only in the
/// zone its catalog entry leaves to judgement (<see cref="Intervention.Consider"/>: a 10-year ASCVD risk of 5 to
/// &lt; 7.5 % for a moderate-intensity statin; <see cref="HybridRanker.MayConsider"/>). A patient younger than the
/// catalog's <see cref="InterventionCatalog.MinimumAge"/> gets no suggestion at all, and the set says why. Then the hard filters (contraindication,
/// already taking, done recently: rules, applied last and never overridden by any score), and one item per group.
/// Deterministic.
/// </summary>
public sealed class Recommender(InterventionCatalog catalog, Featurizer featurizer, IReadOnlyDictionary<string, OutcomePredictor> predictors, HybridRanker? hybrid = null)
{
    private readonly FeatureWording _wording = new(featurizer.Schema, featurizer.Terminology);

    public InterventionCatalog Catalog { get; } = catalog;

    public RecommendationSet Recommend(PatientRecord record, DateTimeOffset at, int top = 5) =>
        Recommend(PatientSnapshot.Take(record, at, featurizer, predictors), top);

    /// <summary>
    /// A rule's reason and what of it this patient meets, with their values: "eGFR below 30, ACR ≥ 300 mg/g, or eGFR
    /// falling ≥ 5 a year — this patient: eGFR 24 mL/min/1.73 m² (low)". For an indication and for a caution alike. A
    /// rule of one fact ("type 2 diabetes") is its own answer, and is not said twice.
    /// </summary>
    private string Met(RuleWithReason rule, PatientSnapshot patient) => Said(rule, patient, rule.Rule.Met(patient.Rules));

    /// <summary>The same for a rule that does not hold: what of it this patient does not meet ("— this patient: age 88").</summary>
    private string Unmet(RuleWithReason rule, PatientSnapshot patient) => Said(rule, patient, rule.Rule.Unmet(patient.Rules));

    private string Said(RuleWithReason rule, PatientSnapshot patient, IReadOnlyList<RuleTerm> terms) => rule.Rule.IsOneFact || terms.Count == 0
        ? rule.Reason
        : $"{rule.Reason} — this patient: {string.Join(", ", terms.Select(t => _wording.Term(t, patient.Features, featurizer.Columns)))}";

    public RecommendationSet Recommend(PatientSnapshot patient, int top = 5)
    {
        if ((Catalog.Off ?? InterventionCatalog.NotFor(patient.Record.AgeAt(patient.At))) is { } notFor)
        {
            return new RecommendationSet(patient.Record.PatientId, patient.At, [], []) { NotForPatient = notFor };
        }

        var evidence = hybrid?.Neighbours.Score(patient.Features);
        var candidates = new List<Recommendation>();
        var screened = new Dictionary<string, Exclusion?>(StringComparer.Ordinal);
        foreach (var item in Catalog.Items)
        {
            var content = patient.Content(item);
            var index = hybrid?.IndexOf(item.Id) ?? -1;
            var neighbours = index >= 0 ? evidence![index] : default;
            if (!content.Indicated && (index < 0 || !HybridRanker.MayConsider(item, neighbours, patient.Rules)))
            {
                continue;
            }

            // Screened once: the exclusion is applied after ranking; the medication-safety cautions count among the cautions the
            // ranker weighs, as in training.
            var (exclusion, safetyCautions) = Catalog.Screen(item, patient.Rules, patient.DaysSince);
            screened[item.Id] = exclusion;
            var cautions = item.Cautions.Where(c => c.Rule.Evaluate(patient.Rules)).Select(c => Met(c, patient)).Concat(safetyCautions).ToList();
            var reasons = new List<string>
            {
                content.Indicated ? $"indicated: {Met(item.Indication, patient)}" : $"not a catalog indication for this patient today (that is: {Unmet(item.Indication, patient)})",
            };
            if (!content.Indicated)
            {
                reasons.Add($"in a zone its guideline leaves to judgement: {Met(item.Consider!, patient)}");
            }

            var candidate = new Recommendation(item, 0, content.Score, content.Benefit, reasons, cautions, content.Indicated ? item.Evidence : item.ConsiderEvidence)
            {
                Indicated = content.Indicated,
            };
            if (index >= 0)
            {
                if (neighbours.Started > 0)
                {
                    reasons.Add(neighbours.Text(item.ResponseTitle ?? item.Response));
                }

                candidate = candidate with { RankerScore = hybrid!.Score(item, content, cautions.Count, neighbours, patient), Neighbours = neighbours };
            }

            candidates.Add(candidate);
        }

        var ordered = candidates.Where(c => c.Indicated).OrderByDescending(c => c.Score).ThenBy(c => c.Intervention.Id, StringComparer.Ordinal).ToList();
        if (hybrid is not null)
        {
            // The ranker decides which medicine takes each place content gave to a medicine; medicines offered on the
            // similar patients' evidence alone come after every indicated item.
            static IEnumerable<Recommendation> ByRanker(IEnumerable<Recommendation> items) =>
                items.OrderByDescending(c => c.RankerScore).ThenByDescending(c => c.Score).ThenBy(c => c.Intervention.Id, StringComparer.Ordinal);
            var ranked = new Queue<Recommendation>(ByRanker(ordered.Where(c => c.RankerScore is not null)));
            ordered = [.. ordered.Select(c => c.RankerScore is null ? c : ranked.Dequeue()), .. ByRanker(candidates.Where(c => !c.Indicated))];
        }

        // Then the hard filters, then one per group: a filtered item never reaches the list, whatever its score.
        var shown = new List<Recommendation>();
        var excluded = new List<Exclusion>();
        var groups = new HashSet<string>(StringComparer.Ordinal);
        foreach (var candidate in ordered)
        {
            if (screened[candidate.Intervention.Id] is { } exclusion)
            {
                excluded.Add(exclusion);
                continue;
            }

            if (!groups.Add(candidate.Intervention.Class))
            {
                excluded.Add(new Exclusion(candidate.Intervention.Id, $"a {candidate.Intervention.Class} suggestion ranks higher"));
                continue;
            }

            if (shown.Count < top)
            {
                shown.Add(candidate with { Rank = shown.Count + 1 });
            }
        }

        return new RecommendationSet(patient.Record.PatientId, patient.At, shown, excluded)
        {
            Ranking = hybrid is null ? "content" : $"hybrid (recommender {hybrid.Manifest.Version})",
        };
    }
}
