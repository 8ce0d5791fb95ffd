namespace HealthRec.Server.Transparency;

/// <summary>One TRIPOD+AI item: filled with what the server knows and where it comes from, or left to the authors.</summary>
public sealed record TripodItem(string Id, string Section, string Topic, bool ServerKnows, string? Value, string? Source);

/// <summary>
/// The TRIPOD+AI checklist (Collins et al., BMJ 2024;385:e078378: 27 items, 52 with their parts) for one model, as the
/// server can fill it: each item whose facts HealthRec holds (its data, eligibility, outcome, predictors, sample sizes,
/// missing data, partitioning, tuning, measures with intervals, subgroups, fairness, threshold, updating) carries its
/// value and source; the items only a study's authors can write (title, abstract, context, blinding, ethics,
/// registration, patient involvement, interpretation) are listed as theirs. Topics are paraphrased; the checklist's
/// wording is the authors'. Built from the same attribute set and figures as the CHAI card, so it changes with every
/// evaluation.
/// </summary>
public static class TripodAiChecklist
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    /// <summary>Every item, in the checklist's order: id, section, topic, and whether a model server can know it.</summary>
    public static readonly IReadOnlyList<(string Id, string Section, string Topic, bool ServerKnows)> Items =
    [
        ("1", "Title and abstract", "Title: a prediction model study, its population, outcome and approach", false),
        ("2", "Title and abstract", "Abstract following TRIPOD+AI for Abstracts", false),
        ("3a", "Introduction", "Healthcare context and rationale, existing models", false),
        ("3b", "Introduction", "Target population, place in the care pathway, intended users", true),
        ("3c", "Introduction", "Known health inequalities between sociodemographic groups", false),
        ("4", "Introduction", "Objectives: development, evaluation or both", true),
        ("5a", "Methods: data", "Sources of data and their representativeness", true),
        ("5b", "Methods: data", "Dates of the data (accrual, end of follow-up)", true),
        ("6a", "Methods: participants", "Study setting and centres", true),
        ("6b", "Methods: participants", "Eligibility criteria", true),
        ("6c", "Methods: participants", "Treatments received, and how handled", true),
        ("7", "Methods: data preparation", "Pre-processing and quality checks, and whether alike across groups", true),
        ("8a", "Methods: outcome", "Outcome definition, time horizon, how and when assessed", true),
        ("8b", "Methods: outcome", "Qualifications of those assessing a subjective outcome", false),
        ("8c", "Methods: outcome", "Blinding of outcome assessment", false),
        ("9a", "Methods: predictors", "Choice of initial predictors and any pre-selection", true),
        ("9b", "Methods: predictors", "Definition of predictors, how and when measured", true),
        ("9c", "Methods: predictors", "Qualifications of those assessing subjective predictors", false),
        ("10", "Methods: sample size", "How the sample size was arrived at", true),
        ("11", "Methods: missing data", "How missing data were handled", true),
        ("12a", "Methods: analysis", "How the data were used: partitioning for development and evaluation", true),
        ("12b", "Methods: analysis", "How predictors were handled (form, transformation, scaling)", true),
        ("12c", "Methods: analysis", "Model type, building steps, hyperparameter tuning, internal validation", true),
        ("12d", "Methods: analysis", "Heterogeneity across clusters (sites, countries)", false),
        ("12e", "Methods: analysis", "Performance measures with intervals, and model comparison", true),
        ("12f", "Methods: analysis", "Model updating arising from evaluation", true),
        ("12g", "Methods: analysis", "For evaluation, how predictions were calculated", true),
        ("13", "Methods: class imbalance", "Class-imbalance methods, why, and any recalibration", true),
        ("14", "Methods: fairness", "Approaches to model fairness and their rationale", true),
        ("15", "Methods: model output", "The output, and how any classification threshold was chosen", true),
        ("16", "Methods: training versus evaluation", "Differences between development and evaluation data", true),
        ("17", "Methods: ethics", "Ethical approval or waiver", false),
        ("18a", "Open science", "Funding", true),
        ("18b", "Open science", "Conflicts of interest", false),
        ("18c", "Open science", "Protocol", false),
        ("18d", "Open science", "Registration", false),
        ("18e", "Open science", "Data sharing", false),
        ("18f", "Open science", "Code sharing", true),
        ("19", "Patient and public involvement", "Patient and public involvement", false),
        ("20a", "Results: participants", "Flow of participants, with and without the outcome, follow-up", true),
        ("20b", "Results: participants", "Characteristics overall and per data source", true),
        ("20c", "Results: participants", "For evaluation, how the data compare with the development data", true),
        ("21", "Results: model development", "Participants and events in each analysis", true),
        ("22", "Results: model specification", "The full model, or how to obtain predictions from it", true),
        ("23a", "Results: performance", "Performance with intervals, including for key subgroups", true),
        ("23b", "Results: performance", "Heterogeneity of performance across clusters", false),
        ("24", "Results: model updating", "Results of any model updating", true),
        ("25", "Discussion", "Interpretation, including fairness", false),
        ("26", "Discussion", "Limitations and their effect on bias, uncertainty and generalisability", true),
        ("27a", "Discussion: usability", "How poor-quality or unavailable inputs are handled in use", true),
        ("27b", "Discussion: usability", "Whether users must handle inputs or interact with the model", true),
        ("27c", "Discussion", "Next steps for research", false),
    ];

    public static IReadOnlyList<TripodItem> Build(PredictiveSubject subject, SourceAttributeSet set)
    {
        var (predictor, equation, training, evaluation) = (subject.Predictor, subject.Equation, subject.TrainingMetrics, subject.EvaluatedMetrics);
        var a = set.Attributes.ToDictionary(x => x.Id, StringComparer.Ordinal);
        string V(string id) => a[id].Value;
        var d = predictor.Definition;
        var m = predictor.Manifest;
        var features = equation is null ? m.FeatureNames.ToList() : [];
        var missing = features.Count(f => f.EndsWith("_missing", StringComparison.Ordinal));
        var treatments = features.Where(f => f.StartsWith("on_", StringComparison.Ordinal)).ToList();
        var values = new Dictionary<string, (string Value, string Source)>(StringComparer.Ordinal)
        {
            ["3b"] = ($"{V("B.2.ii")}; users: {V("B.2.iii")}", "source attributes B.2.ii, B.2.iii"),
            ["4"] = (equation is not null ? "Evaluation of a published equation on this site's data (the daily evaluation)"
                : "Development with internal validation (training), then evaluation on the newest local data every day", "HealthRec's jobs"),
            ["5a"] = (equation is not null ? V("B.4.i") : $"{m.Provenance.Input} (SHA-256 {m.Provenance.DataSha256}){(m.Provenance.Synthetic ? ", synthetic patients from HealthRec's generator" : "")}. {V("B.4.iv")}", "bundle manifest: provenance"),
            ["5b"] = (Dates(training, evaluation), "metrics: out_of_time.from; evaluation from/to"),
            ["6a"] = ("Primary and preventive care records (FHIR R4) of one source; no multi-centre structure is recorded", "bundle manifest: provenance"),
            ["6b"] = (V("B.4.i"), "outcome definition " + d.Id),
            ["6c"] = (treatments.Count > 0 ? $"Medication classes taken at the index date are predictors ({string.Join(", ", treatments)}); treatment after it is not modelled" : "Not modelled", "bundle manifest: featureNames"),
            ["7"] = ("FHIR resources mapped through the terminology (LOINC, SNOMED CT, RxNorm, site codes), units converted by UCUM with stated equivalences and unknown units refused, features computed by the schema "
                + $"{m.FeatureSchemaId} {m.FeatureSchemaVersion}; the same preparation for every group", "terminology and feature schema"),
            ["8a"] = ($"{d.Title}{(d.HorizonDays > 0 ? string.Create(Ci, $", within {d.HorizonDays} days of the index date") : "")}: {d.Description ?? d.Title}. Assessed from coded conditions, laboratory results and deaths in the record.", "outcome definition " + d.Id),
            ["9a"] = (equation is not null ? "The equation's published predictors" : string.Create(Ci, $"All {features.Count} features of the schema, none pre-selected by their association with the outcome"), "feature schema"),
            ["9b"] = (equation is not null ? "As published; read from the record within each input's window" : "Each feature as the schema defines it (last value, maximum, mean or slope over a stated window before the index date; conditions and medicines at the index date)", "feature schema"),
            ["10"] = (training?["n_train"] is { } nt ? string.Create(Ci, $"Every eligible index date in the data: {(int)nt:N0} training, {(int?)training["n_validation"]:N0} validation, {(int?)training["n"]:N0} test examples; no sample-size calculation") : "Every eligible index date in the data; no sample-size calculation", "bundle metrics.json"),
            ["11"] = (string.Create(Ci, $"No imputation: a missing value stays missing for LightGBM's own handling, with {missing} missingness indicators; records lacking an equation's inputs get no estimate"), "feature schema; model card"),
            ["12a"] = ("Split by patient (no patient in two sets) into training, validation (early stopping, calibration, threshold) and test; an out-of-time check refits on earlier and tests on later examples", "model card: Data"),
            ["12b"] = ("Tree models need no transformation or scaling; the baselines' logistic regression standardises its inputs", "model card: Model"),
            ["12c"] = (equation is not null ? "A published equation; not fitted here" : string.Create(Ci, $"LightGBM ({m.Parameters.Leaves} leaves, learning rate {m.Parameters.LearningRate}, {m.Parameters.Iterations} trees by early stopping on validation), probabilities calibrated on validation; baselines: {string.Join(", ", m.Baselines.Keys.Order(StringComparer.Ordinal))}"), "bundle manifest: parameters"),
            ["12e"] = ("ROC-AUC with a bootstrap 95 % interval, PR-AUC, Brier score, calibration slope and intercept, calibration in the large against Kaplan–Meier incidence; all weighted by inverse probability of censoring; compared with the baselines and, for ASCVD, the published equations", "metrics.json"),
            ["12f"] = (V("B.9.i"), "Jobs:Retrain"),
            ["12g"] = ("The registered version's calibrated probability for each index date, as served", "the evaluation job"),
            ["13"] = ("None: no resampling or class weights; example weights are censoring weights (IPCW); probabilities are calibrated on validation", "model card"),
            ["14"] = ($"{V("B.5.i")} {V("B.5.ii")}", "source attributes B.5"),
            ["15"] = (d.Kind == OutcomeKind.Binary ? string.Create(Ci, $"A probability; flagged at {m.Threshold:0.###} chosen on validation by the {d.Threshold.Policy} policy; bands {(d.Bands.IsEmpty ? "derived from the threshold" : string.Join(", ", d.Bands.Select(b => $"{b.Name} from {b.From:P1}")))}") : "A predicted value", "outcome definition; bundle manifest"),
            ["16"] = (evaluation is null ? "No evaluation on other data yet" : $"{V("B.6.i")} Feature drift (PSI) against the training data is reported with each evaluation.", "the evaluation job"),
            ["18a"] = (V("B.1.ii"), "Transparency:FundingSource"),
            ["18f"] = ("Open source: HealthRec's repository holds the code that trains, evaluates and serves the model", "the repository"),
            ["20a"] = (Flow(training), "bundle metrics.json"),
            ["20b"] = (V("B.4.iii"), "bundle metrics.json: subgroups"),
            ["20c"] = (evaluation is null ? "No evaluation data yet" : "Feature distributions compared with the training data (PSI per feature) in every evaluation", "the evaluation job: drift"),
            ["21"] = (Flow(training), "bundle metrics.json"),
            ["22"] = ($"The registered bundle (model, calibrator, threshold, features) of version {set.Version} in the model registry; predictions through the CDS Hooks service, the SMART view or `healthrec score`", "model registry"),
            ["23a"] = ($"{V("B.7.i")} {V("B.7.ii")}", "source attributes B.7"),
            ["24"] = (V("B.9.i"), "the promotion gate"),
            ["26"] = (V("B.3.ii"), "source attributes B.3.ii"),
            ["27a"] = ("Inputs missing, too old or in an unknown unit are named on the card, never guessed; a record without what the model needs gets no estimate and a card saying why", "CDS cards"),
            ["27b"] = ("No: estimates are computed from the record the EHR sends; the clinician reads the card and may open the full view", "CDS Hooks service"),
        };

        return [.. Items.Select(i => i.ServerKnows && values.TryGetValue(i.Id, out var v) && !string.IsNullOrWhiteSpace(v.Value)
            ? new TripodItem(i.Id, i.Section, i.Topic, true, v.Value, v.Source)
            : new TripodItem(i.Id, i.Section, i.Topic, i.ServerKnows, null, null))];
    }

    private static string Dates(JsonNode? training, JsonNode? evaluation)
    {
        var parts = new List<string>();
        if ((string?)training?["out_of_time"]?["from"] is { } split)
        {
            parts.Add($"out-of-time test from {split}");
        }

        if ((string?)evaluation?["from"] is { } from)
        {
            parts.Add($"newest evaluation on index dates {from} to {(string?)evaluation["to"]}");
        }

        return parts.Count == 0 ? "" : string.Join("; ", parts);
    }

    private static string Flow(JsonNode? training) => training?["n"] is { } n
        ? string.Create(Ci, $"Test: {(int)n:N0} examples, prevalence {(double?)training["prevalence"]:P1}; training {(int?)training["n_train"]:N0}; validation {(int?)training["n_validation"]:N0}")
        : "";
}
