namespace HealthRec.Server.CdsHooks;

/// <summary>The recommendation card: the suggestions in order of expected benefit, what was not offered and why, the recommender as its source.</summary>
internal sealed partial class PatientRiskCards
{
    private (CdsCard? Card, CdsCardRecord? Record) RecommendationCard(RecommendationSet set, IReadOnlyList<RiskPrediction> predictions,
        ServingModels models, string patientId, CardContext context)
    {
        var uuid = Guid.NewGuid().ToString();
        var detail = new StringBuilder();
        var suggestions = new List<CdsSuggestion>();
        var stored = new List<CdsSuggestionRecord>();
        foreach (var recommendation in set.Recommendations)
        {
            var item = recommendation.Intervention;
            detail.Append(Ci, $"**{recommendation.Rank}. {Markdown(item.Title)}**");
            if (recommendation.Benefit is { } benefit)
            {
                detail.Append(Ci, $" — {Markdown(BenefitText(benefit, models))}");
            }

            detail.Append('\n');
            foreach (var line in recommendation.Support())
            {
                detail.Append(line switch
                {
                    { Source: { } e } => $"- Evidence: [{Markdown(e.Label)}]({e.Url}) — {Markdown(e.Recommendation)} (strength {Markdown(e.Strength)})\n",
                    { Kind: SupportKind.Caution } => $"- Caution: {Markdown(line.Text)}\n",
                    _ => $"- {Markdown(Capitalize(line.Text))}\n",
                });
            }

            detail.Append('\n');
            var benefitText = recommendation.Benefit is { } b ? BenefitText(b, models) : null;
            var proposal = ProposalBuilder.Build(item, patientId, recommendation.Reasons, benefitText, ModelInfluence.Of(recommendation, models.Ranker?.Manifest.Version), set.At);
            var suggestionUuid = Guid.NewGuid().ToString();
            suggestions.Add(new CdsSuggestion(Label($"Propose {item.Title}"), suggestionUuid)
            {
                Actions =
                [
                    new CdsAction("create", $"Create a proposed {item.ResourceType} (status draft, intent proposal): {item.Display}")
                    {
                        Resource = JsonSerializer.SerializeToElement(proposal, FhirJson.Options),
                    },
                ],
            });
            stored.Add(new CdsSuggestionRecord(suggestionUuid, item.Id, item.Title));
        }

        foreach (var trajectory in predictions.Where(p => p.Kind == OutcomeKind.Regression))
        {
            var definition = models.Predictors[trajectory.Outcome].Definition;
            detail.Append(Ci, $"Also estimated: {Markdown(LowerFirst(labels.Label(definition)))} {trajectory.Estimate:0.0} % (model {trajectory.Outcome} {trajectory.ModelVersion}; {Markdown(trajectory.Validation)}).\n\n");
        }

        var notOffered = NotOffered(set, models.Recommender.Catalog);
        foreach (var (title, reason) in notOffered)
        {
            detail.Append(Ci, $"Not offered: **{Markdown(title)}** — {Markdown(reason)}.\n\n");
        }

        detail.Append(Ci, $"{Markdown(set.OrderedBy)} Nothing contraindicated by the record or the medication-safety rules, nothing whose safety could not be established, ");
        detail.Append("nothing already taken or done recently is suggested; a suggestion creates a draft proposal for you to review, never an order.");
        var titles = set.Recommendations.Select(r => r.Intervention.Title).ToList();
        var summary = titles.Count > 0 ? SuggestionSummary(titles)
            : Summary($"Not offered: {string.Join(", ", notOffered.Select(n => n.Title))} (a safety check spoke against it or could not be made)");
        var card = new CdsCard(uuid, summary, Indicator.Info,
            RecommenderSource(models, context))
        {
            Detail = detail.ToString().TrimEnd(),
            Suggestions = suggestions.Count > 0 ? suggestions : null,
            SelectionBehavior = suggestions.Count > 0 ? "any" : null,
            OverrideReasons = CardCodes.RecommendationOverrides,
            Links = [context.AppLink(uuid, "Open HealthRec for the full view")],
        };
        return (card, new CdsCardRecord(uuid, "recommendation", "recommendations", Indicator.Info, card.Summary, stored));
    }

    // The source of a recommendations card: the recommender that made it, and the catalog it chose from.
    private static CdsSource RecommenderSource(ServingModels models, CardContext context) =>
        new(models.Ranker is { } ranker ? $"HealthRec recommender {ranker.Manifest.Version}" : "HealthRec recommender (content-based)")
        {
            Url = context.Url("interventions"),
            Topic = CardCodes.Topic("recommendations"),
        };

    // A patient the catalog is not for (a child), or a server whose catalog is off: one card says so, rather than silence
    // read as "nothing to suggest".
    private static (CdsCard? Card, CdsCardRecord? Record) NotForPatientCard(string notFor, bool noEstimate, ServingModels models, CardContext context)
    {
        var uuid = Guid.NewGuid().ToString();
        var off = models.Recommender.Catalog.Off is not null;
        var card = new CdsCard(uuid, Summary(off ? "No suggestions: this server's intervention catalog is off"
                : $"No suggestions: HealthRec follows adult guidelines ({Clinical.Knowledge.InterventionCatalog.MinimumAge} and over)"),
            Indicator.Info,
            RecommenderSource(models, context))
        {
            Detail = $"{Markdown(Capitalize(notFor))}." + (noEstimate && !off ? " Its risk models' populations are adults too: no estimate is given for this patient." : ""),
            Links = [context.AppLink(uuid, "Open HealthRec for the full view")],
        };
        return (card, new CdsCardRecord(uuid, "recommendation", "recommendations", Indicator.Info, card.Summary, []));
    }

    // Indicated medicines the medication-safety checks held back (a finding, or a check that could not be made), with why.
    private static List<(string Title, string Reason)> NotOffered(RecommendationSet set, Clinical.Knowledge.InterventionCatalog catalog) =>
    [
        .. set.Excluded
            .Select(e => (Exclusion: e, Item: catalog.Items.FirstOrDefault(i => i.Id == e.InterventionId)))
            .Where(x => x.Item is { Category: Clinical.Knowledge.InterventionCategory.Medication }
                && (x.Exclusion.Reason.StartsWith("safety not established", StringComparison.Ordinal) || x.Exclusion.Reason.StartsWith("contraindicated", StringComparison.Ordinal)))
            .Take(3)
            .Select(x => (x.Item!.Title, x.Exclusion.Reason)),
    ];

    private string BenefitText(ExpectedBenefit benefit, ServingModels models)
    {
        var label = models.Predictors.TryGetValue(benefit.Outcome, out var predictor) ? labels.Label(predictor.Definition) : benefit.OutcomeTitle;
        return string.Create(Ci, $"estimated {LowerFirst(label)} {Percent(benefit.RiskNow)} → {Percent(benefit.RiskWith)} with it (an estimate: {benefit.Estimator}, effect from {benefit.Source})");
    }
}
