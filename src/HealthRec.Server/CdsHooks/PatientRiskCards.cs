namespace HealthRec.Server.CdsHooks;

/// <summary>The cards of one call, and what is stored of each (kind, subject, suggestions) for feedback and audit.</summary>
internal sealed record HookAnswer(IReadOnlyList<CdsCard> Cards, IReadOnlyList<CdsCardRecord> Records)
{
    /// <summary>Whether a trained model produced or ranked what the cards say (HL7 AI Transparency's AIAST applies).</summary>
    public bool AiInfluenced => AiModels.Count > 0;

    /// <summary>The trained models behind what the cards say, as references to their Devices (none: rules and equations only).</summary>
    public IReadOnlyList<Hl7.Fhir.Model.ResourceReference> AiModels { get; init; } = [];

    public static readonly HookAnswer None = new([], []);
}

/// <summary>Where a call's cards point: HealthRec's public base URL, and the call, for the SMART app link's context.</summary>
internal sealed record CardContext(Uri BaseUrl, string ServiceId, string HookInstance, string PatientId)
{
    public string Url(string path) => new Uri(BaseUrl, path.TrimStart('/')).AbsoluteUri;

    /// <summary>The link to HealthRec's SMART app for the full view (a SMART launch URL the EHR completes), with the card it came from.</summary>
    public CdsLink AppLink(string cardUuid, string label) => new(label, Url("smart/launch"), "smart")
    {
        AppContext = JsonSerializer.Serialize(new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["service"] = ServiceId,
            ["hookInstance"] = HookInstance,
            ["card"] = cardUuid,
        }),
    };
}

/// <summary>
/// The patient-view answer: a risk card for each outcome whose estimate is above its lowest band, and one card with
/// the top recommendations, at most three cards, most important first (warning risks, then recommendations, then
/// informational risks), none when nothing is actionable. Every number is labelled an estimate with its model,
/// version and validation; every suggestion carries its evidence and creates a FHIR proposal.
/// </summary>
internal sealed partial class PatientRiskCards(OutcomeLabels labels)
{
    public const int MaxCards = 3;
    public const int MaxSuggestions = 3;
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    /// <summary>Analytes one of which must have been measured within this long for any estimate to be given.</summary>
    public static readonly TimeSpan RecentData = TimeSpan.FromDays(3 * 365);

    /// <summary>
    /// Whether the record holds enough to estimate anything: a recent measurement, and demographics — unless some
    /// outcome served does not depend on age (a site's outcome over a table without ages, <c>"minAge": null</c>).
    /// </summary>
    public static bool Scorable(ServingModels models, PatientRecord record, DateTimeOffset at) =>
        !record.Deceased && WhyNotScorable(models, record, at).Count == 0;

    /// <summary>What the record lacks to be estimated at all (empty when it has it), as a clinician reads it.</summary>
    public static IReadOnlyList<string> WhyNotScorable(ServingModels models, PatientRecord record, DateTimeOffset at)
    {
        List<string>? reasons = null;
        if (!models.Predictors.Values.Any(p => !p.Definition.Population.AgeMatters))
        {
            if (record.BirthDate is null)
            {
                (reasons ??= []).Add("no birth date is recorded");
            }

            if (record.Sex is not (Sex.Female or Sex.Male))
            {
                (reasons ??= []).Add("no sex is recorded as female or male");
            }
        }

        if (!record.Measurements.Values.Any(values => values.Any(m => m.At <= at && m.At > at - RecentData)))
        {
            var latest = record.Measurements.Values.SelectMany(values => values).Where(m => m.At <= at).Select(m => (DateTimeOffset?)m.At).Max();
            (reasons ??= []).Add(latest is { } last
                ? $"the latest measurement is from {last.UtcDateTime.ToString("yyyy-MM-dd", Ci)}, more than three years ago"
                : "no measurement (laboratory result or vital sign) is recorded");
        }

        return reasons ?? (IReadOnlyList<string>)[];
    }

    public HookAnswer Build(ServingModels models, PatientRecord record, DateTimeOffset at, CardContext context)
    {
        if (!Scorable(models, record, at))
        {
            // Silence would read as "checked and fine": a living patient HealthRec cannot estimate gets one card saying why.
            if (record.Deceased)
            {
                return HookAnswer.None;
            }

            var none = NoEstimateCard(models, record, at, context);
            return new HookAnswer([none], [new CdsCardRecord(none.Uuid, "risk", "not-estimated", Indicator.Info, none.Summary, [])]);
        }

        var estimates = models.Estimate(record, at);
        var (features, predictions) = estimates;
        var snapshot = PatientSnapshot.From(record, at, features, models.Featurizer, predictions);
        var recommendations = models.Recommender.Recommend(snapshot, MaxSuggestions);

        var risks = new List<(CdsCard Card, CdsCardRecord Record, int Severity, double Estimate, Hl7.Fhir.Model.ResourceReference? Model)>();
        foreach (var prediction in predictions.Where(p => p.Kind == OutcomeKind.Binary))
        {
            var predictor = models.Predictors[prediction.Outcome];
            var bands = BandNames(predictor.Definition);
            var position = bands.IndexOf(prediction.Band ?? "");
            // The lowest band gets a card only when the record holds an input that could not be read: a "low" made
            // without it is not "checked and fine", and silence would say it is.
            if (position < 0 || (position == 0 && prediction.Unreadable.Count == 0))
            {
                continue;
            }

            var indicator = position == bands.Count - 1 ? Indicator.Warning : Indicator.Info;
            var card = RiskCard(predictor.WithAlongside(prediction, record, at), predictor, indicator, context, at);
            risks.Add((card, new CdsCardRecord(card.Uuid, "risk", prediction.Outcome, indicator, card.Summary, []), Indicator.Rank(indicator), prediction.Estimate,
                prediction.ByReference ? null : Fhir.AiTransparency.ModelReference(prediction.Outcome, prediction.ModelVersion)));
        }

        // An outcome whose answering equation can give no number for a patient in its population says why, last.
        var unestimated = new List<(CdsCard Card, CdsCardRecord Record)>();
        foreach (var (predictor, none) in estimates.NotEstimated)
        {
            var card = NotEstimatedCard(none, predictor, context, at);
            unestimated.Add((card, new CdsCardRecord(card.Uuid, "risk", predictor.Definition.Id, Indicator.Info, card.Summary, [])));
        }

        var cards = new List<(CdsCard Card, CdsCardRecord Record, int Order)>();
        var aiModels = new List<Hl7.Fhir.Model.ResourceReference>();
        // A card also when no suggestion is left but an indicated medicine was held back for its safety: never silence.
        var recommendationCard = recommendations.NotForPatient is { } notFor ? NotForPatientCard(notFor, predictions.Count == 0, models, context)
            : recommendations.Recommendations.Count > 0 || NotOffered(recommendations, models.Recommender.Catalog).Count > 0
            ? RecommendationCard(recommendations, predictions, models, record.PatientId, context)
            : default;
        var riskSlots = recommendationCard.Card is null ? MaxCards : MaxCards - 1;
        foreach (var risk in risks.OrderByDescending(r => r.Severity).ThenByDescending(r => r.Estimate).Take(riskSlots))
        {
            cards.Add((risk.Card, risk.Record, risk.Severity == Indicator.Rank(Indicator.Warning) ? 0 : 2));
            if (risk.Model is { } model)
            {
                aiModels.Add(model);
            }
        }

        if (recommendationCard is { Card: { } recommended, Record: { } stored })
        {
            cards.Add((recommended, stored, 1));
            // Ranked by the models' estimates of benefit and, where registered, the learned ranker.
            aiModels.AddRange(recommendations.Recommendations.SelectMany(r => ModelInfluence.Of(r, models.Ranker?.Manifest.Version)));
        }

        foreach (var (card, kept) in unestimated.Take(MaxCards - cards.Count))
        {
            cards.Add((card, kept, 3));
        }

        var ordered = cards.OrderBy(c => c.Order).ToList();
        return new HookAnswer([.. ordered.Select(c => c.Card)], [.. ordered.Select(c => c.Record)]) 
        {
            AiModels = [.. aiModels.DistinctBy(m => m.Identifier?.Value, StringComparer.Ordinal)],
        };
    }

    private static List<string> BandNames(OutcomeDefinition definition) =>
        definition.Bands.IsEmpty ? ["low", "intermediate", "high"] : [.. definition.Bands.Select(b => b.Name)];

    private CdsCard RiskCard(RiskPrediction prediction, OutcomePredictor predictor, string indicator, CardContext context, DateTimeOffset at)
    {
        var uuid = Guid.NewGuid().ToString();
        var label = labels.Label(predictor.Definition);
        var detail = new StringBuilder();
        var byEquation = prediction.ByReference;
        detail.Append(Ci, $"**Estimated {Markdown(LowerFirst(label))}: {Percent(prediction.Estimate)} ({prediction.Band}).** ");
        detail.Append(byEquation ? "An estimate from a published risk equation, not a diagnosis.\n\n" : "An estimate from a model, not a diagnosis.\n\n");
        detail.Append(Ci, $"{Bands(predictor.Definition, prediction.Threshold ?? predictor.Manifest.Threshold, prediction.ByReference)}\n\n");
        if (prediction.Factors.Count > 0)
        {
            detail.Append(FactorsHeading(byEquation)).Append("\n\n");
            foreach (var factor in prediction.Factors)
            {
                detail.Append(Ci, $"- {Markdown(factor.Text)} ({factor.Direction} the risk)\n");
            }

            detail.Append('\n');
        }

        AppendLacks(detail, prediction.Lacks, prediction.AsOf, at);
        if (prediction.Read.Count > 0)
        {
            detail.Append("How its inputs were read:\n\n");
            foreach (var read in prediction.Read)
            {
                detail.Append(Ci, $"- {Markdown(read)}\n");
            }

            detail.Append('\n');
        }

        detail.Append(Alongside(prediction));
        if (byEquation)
        {
            detail.Append(Ci, $"Equation {Markdown(prediction.Validation)}. ");
            detail.Append(Ci, $"No model trained here has yet beaten it at the promotion gate ({prediction.Outcome} {predictor.Manifest.Version} waits as challenger).");
        }
        else
        {
            detail.Append(Ci, $"Model {prediction.Outcome} {prediction.ModelVersion}: {Markdown(predictor.Definition.Title)}. ");
            detail.Append(Ci, $"Validated on held-out patients — {Markdown(prediction.Validation)}. ");
            if (predictor.Manifest.InTheLargeRatio is { } ratio)
            {
                detail.Append(Ci, $"**This model's estimates run {(ratio > 1 ? "high" : "low")}**: over all at-risk patients in its held-out test, the mean estimate was {ratio:0.#} times the observed (Kaplan–Meier) incidence; read the figure as a ranking against other patients, not as an absolute risk. ");
            }
            else if (predictor.Manifest.InTheLarge is null && predictor.Manifest.Censoring is null && predictor.Definition.Kind == OutcomeKind.Binary)
            {
                // Complete-case training (the model card says so too): patients seen for less than the horizon without the
                // event were left out, and those who leave care are more often those without it.
                detail.Append("Calibrated on patients followed for the whole horizon or until the event, which can make absolute estimates run high: read them with the band. ");
            }

            if (prediction.Reference is { } reference)
            {
                detail.Append(ReferenceBeside(prediction.Estimate, reference));
            }

            if (predictor.Manifest.Provenance.Synthetic)
            {
                detail.Append("Trained on synthetic patients: not yet validated on this organisation's patients.");
            }
        }

        var runs = !byEquation && predictor.Manifest.InTheLargeRatio is { } off ? (off > 1 ? "; model runs high" : "; model runs low") : "";
        runs += prediction.Unreadable.Count > 0 ? "; an input could not be read" : "";
        var source = byEquation ? $"HealthRec {prediction.Outcome}: {predictor.Reference!.Name}" : $"HealthRec {prediction.Outcome} {prediction.ModelVersion}";
        return new CdsCard(uuid, Summary($"{label} {Percent(prediction.Estimate)} ({prediction.Band}{runs})"), indicator,
            new CdsSource(source)
            {
                Url = context.Url($"models/{prediction.Outcome}"),
                Topic = new CdsCoding(CardCodes.TopicSystem, $"risk-{prediction.Outcome}", label),
            })
        {
            Detail = detail.ToString().TrimEnd(),
            OverrideReasons = CardCodes.RiskOverrides,
            Links = [context.AppLink(uuid, "Open HealthRec for the full view")],
        };
    }

    /// <summary>
    /// What a page or a written-back note shows beside an estimate, in plain text: the reference equation's figure beside
    /// a model's (<see cref="ReferenceBeside"/>), then the equations alongside (<see cref="Alongside"/>).
    /// </summary>
    internal static string Beside(RiskPrediction prediction) =>
        ((!prediction.ByReference && prediction.Reference is { } reference ? ReferenceBeside(prediction.Estimate, reference, markdown: false) : "")
            + Alongside(prediction, markdown: false)).Trim();

    /// <summary>
    /// The equations shown beside an estimate (<see cref="RiskPrediction.Alongside"/>: other outcomes or horizons of the
    /// same patient), each as its figure — with what it lacks beyond the estimate's own — or why it gives none. Not the
    /// same quantity, so never compared but in one direction: an estimate above the figure of an equation that bounds its
    /// outcome (the same event over a longer horizon, <see cref="Clinical.Risk.ReferenceModel.Bounds"/>) is said loudly.
    /// Empty when the outcome names none.
    /// </summary>
    internal static string Alongside(RiskPrediction prediction, bool markdown = true)
    {
        if (prediction.Alongside.Count == 0)
        {
            return "";
        }

        var parts = prediction.Alongside.Select(a => a.Estimate is { } risk
            ? $"{a.Model.Name} {Percent(risk)}" + (a.Lacks.Except(prediction.Lacks, StringComparer.Ordinal).ToList() is { Count: > 0 } lacks
                ? $" (it lacks: {string.Join("; ", lacks)})" : "")
            : $"{a.Model.Name} not estimated ({string.Join("; ", a.NotGiven)})");
        var text = $"Validated equations beside it, for other outcomes or horizons (not the same quantity as this estimate): {string.Join("; ", parts)}.";
        var bold = markdown ? "**" : "";
        var above = prediction.Alongside
            .Where(a => a.Estimate is { } risk && prediction.Estimate > risk && a.Model.Bounds.Contains(prediction.Outcome, StringComparer.Ordinal))
            .Select(a => $" {bold}This estimate is higher than the validated {a.Model.Name} figure{bold}, although the risk over a shorter horizon cannot exceed it: weigh it against the equation before acting.");
        return (markdown ? Markdown(text) : text) + string.Concat(above) + (markdown ? "\n\n" : "");
    }

    /// <summary>
    /// The reference equation's figure beside a model's: always given, and said loudly when the two differ more than
    /// twofold (or when the equation could give none, why).
    /// </summary>
    internal static string ReferenceBeside(double estimate, Clinical.Risk.ReferenceEstimate reference, bool markdown = true)
    {
        string Text(string text) => markdown ? Markdown(text) : text;
        if (reference.Estimate is not { } validated)
        {
            return $"The validated equation ({Text(reference.Model.Name)}) gives no figure for this patient: {Text(string.Join("; ", reference.NotGiven))}. ";
        }

        var ratio = estimate / validated;
        var text = string.Create(Ci, $"The validated equation ({Text(reference.Model.Name)}) gives {Percent(validated)}. ");
        var bold = markdown ? "**" : "";
        return ratio is > 2 or < 0.5
            ? text + string.Create(Ci, $"{bold}This model's estimate is {(ratio > 1 ? ratio : 1 / ratio):0.#} times {(ratio > 1 ? "higher" : "lower")} than the validated equation's{bold}: weigh it against the equation before acting. ")
            : text;
    }

    /// <summary>What the estimate lacks (inputs missing, stale, unreadable, assumed), apart from its reasons; and "as of" when its data is old.</summary>
    internal static void AppendLacks(StringBuilder detail, IReadOnlyList<string> lacks, DateTimeOffset? asOf, DateTimeOffset at)
    {
        if (lacks.Count > 0)
        {
            detail.Append("What this estimate lacks:\n\n");
            foreach (var lack in lacks)
            {
                detail.Append(Ci, $"- {Markdown(Capitalize(lack))}\n");
            }

            detail.Append('\n');
        }

        if (asOf is { } newest && (at - newest).TotalDays > StaleDataDays)
        {
            detail.Append(Ci, $"**As of {newest:yyyy-MM-dd}**: the newest result it used is {(at - newest).TotalDays / 365.25:0.#} years old; the estimate describes the patient then, not today.\n\n");
        }
    }

    /// <summary>
    /// The one card for a patient whose record gives nothing to estimate from (no recent measurement, or no age and sex
    /// where every outcome needs them): why, and that it is no statement about the risk.
    /// </summary>
    private static CdsCard NoEstimateCard(ServingModels models, PatientRecord record, DateTimeOffset at, CardContext context)
    {
        var reasons = WhyNotScorable(models, record, at);
        var uuid = Guid.NewGuid().ToString();
        var detail = new StringBuilder("**HealthRec gave no risk estimate for this patient.** Its models need the patient's age and sex and a measurement (a laboratory result or vital sign) from the last three years:\n\n");
        foreach (var reason in reasons)
        {
            detail.Append(Ci, $"- {Markdown(Capitalize(reason))}\n");
        }

        detail.Append("\nNo estimate is made from old or guessed values. This says nothing about the patient's risk: it was not estimated.");
        return new CdsCard(uuid, Summary($"No risk estimate: {reasons[0]}"), Indicator.Info,
            new CdsSource("HealthRec")
            {
                Url = context.Url("models"),
                Topic = CardCodes.Topic("risk-not-estimated"),
            })
        {
            Detail = detail.ToString(),
            OverrideReasons = CardCodes.RiskOverrides,
            Links = [context.AppLink(uuid, "Open HealthRec for the full view")],
        };
    }

    /// <summary>An estimate whose newest input is older than this says "as of" that date.</summary>
    public const int StaleDataDays = 365;

    /// <summary>The card for a patient in an outcome's population to whom the answering equation can give no number: why, and what would let it.</summary>
    private CdsCard NotEstimatedCard(Clinical.Risk.ReferenceEstimate none, OutcomePredictor predictor, CardContext context, DateTimeOffset at)
    {
        var uuid = Guid.NewGuid().ToString();
        var label = labels.Label(predictor.Definition);
        var detail = new StringBuilder();
        detail.Append(Ci, $"**{Markdown(label)} not estimated.** {Markdown(none.Model.Name)} answers for this outcome and gives no number for this patient:\n\n");
        foreach (var reason in none.NotGiven)
        {
            detail.Append(Ci, $"- {Markdown(Capitalize(reason))}\n");
        }

        detail.Append('\n');
        AppendLacks(detail, none.Lacks, null, at);
        detail.Append("No estimate is extrapolated beyond the equation's population and ranges, and none is made from guessed values.");
        return new CdsCard(uuid, Summary($"{label}: not estimated ({none.NotGiven[0]})"), Indicator.Info,
            new CdsSource($"HealthRec {predictor.Definition.Id}: {none.Model.Name}")
            {
                Url = context.Url($"models/{predictor.Definition.Id}"),
                Topic = new CdsCoding(CardCodes.TopicSystem, $"risk-{predictor.Definition.Id}", label),
            })
        {
            Detail = detail.ToString().TrimEnd(),
            OverrideReasons = CardCodes.RiskOverrides,
            Links = [context.AppLink(uuid, "Open HealthRec for the full view")],
        };
    }
}

/// <summary>The outcome definitions' short labels ("10-year ASCVD risk"), from the definitions folder, for card summaries.</summary>
internal sealed class OutcomeLabels(IReadOnlyDictionary<string, OutcomeDefinition> definitions)
{
    /// <summary>The current outcome definitions, by id.</summary>
    public IReadOnlyDictionary<string, OutcomeDefinition> Definitions => definitions;

    public string Label(OutcomeDefinition fromModel) =>
        definitions.TryGetValue(fromModel.Id, out var current) ? current.Label : fromModel.Label;
}
