namespace HealthRec.Server.Transparency;

/// <summary>
/// The CHAI Applied Model Card (schema v0.2, <c>https://mc.chai.org/v0.2/schema.xsd</c>) of one model, written from
/// its HTI-1 source attribute set and the figures of its training and newest evaluation: the same facts, in the
/// Coalition for Health AI's structure. Each key metric is a figure with its 95 % interval where one was computed,
/// as the schema's <c>ValueJson</c> (<c>{"kind":"estimate_ci",…}</c> or <c>{"kind":"single",…}</c>).
/// </summary>
public static class ChaiModelCard
{
    public static readonly XNamespace Mc = "https://mc.chai.org/v0.2/schema.xsd";
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    public static XDocument Build(PredictiveSubject subject, SourceAttributeSet set, TransparencyOptions options, string attributesUrl)
    {
        var (predictor, equation, training, evaluation) = (subject.Predictor, subject.Equation, subject.TrainingMetrics, subject.EvaluatedMetrics);
        var a = set.Attributes.ToDictionary(x => x.Id, StringComparer.Ordinal);
        string V(string id) => a[id].Value;
        var manifest = predictor.Manifest;
        var name = equation?.Name ?? $"HealthRec {predictor.Definition.Title} model ({set.Subject})";
        var synthetic = equation is null && manifest.Provenance.Synthetic;

        return new XDocument(new XDeclaration("1.0", "utf-8", null), new XElement(Mc + "AppliedModelCard",
            new XElement(Mc + "BasicInfo",
                E("ModelName", name), E("ModelDeveloper", equation is null ? options.DeveloperName : $"{equation.Citation} (equation); served by {options.DeveloperName}"),
                E("DeveloperContact", options.DeveloperContact)),
            new XElement(Mc + "ReleaseInfo",
                E("ReleaseStage", synthetic ? "Research: trained on synthetic data, not validated for clinical use" : equation is not null ? "Published equation, in use" : "In use at this site, monitored daily"),
                E("ReleaseDate", equation is null ? manifest.TrainedAt.UtcDateTime.ToString("yyyy-MM-dd", Ci) : "2024 (publication)"),
                E("ReleaseVersion", set.Version),
                E("GlobalAvailability", "Open source; available wherever a site deploys HealthRec"),
                new XElement(Mc + "EHRCompatibility", E("EHR", "Any EHR that calls CDS Hooks 2.0 services or launches SMART App Launch 2.2 apps over FHIR R4")),
                E("RegulatoryApproval", "None: not a cleared medical device")),
            new XElement(Mc + "ModelSummary",
                E("Summary", $"{V("B.1.iii")} {V("B.2.i")}"),
                new XElement(Mc + "Keywords", E("Keyword", predictor.Definition.Id), E("Keyword", "risk prediction"), E("Keyword", equation is null ? "LightGBM" : "published equation"), E("Keyword", "FHIR R4"))),
            new XElement(Mc + "UsesAndDirections",
                E("IntendedUseAndWorkflow", $"{V("B.2.i")} {V("B.2.iv")}"),
                E("PrimaryIntendedUsers", V("B.2.iii")),
                E("HowToUse", "Read the estimate on the CDS Hooks card at the chart, with its band, the factors that moved it and its validation; open the SMART view for trends, what-if and suggestions; the card links the model card and these attributes."),
                E("TargetedPatientPopulation", V("B.2.ii")),
                E("CautionedOutOfScopeSettings", V("B.3.i"))),
            new XElement(Mc + "Warnings",
                E("KnownRisksAndLimitations", V("B.3.ii")),
                E("KnownBiasesOrEthicalConsiderations", $"{V("B.4.ii")} {V("B.7.ii")}"),
                E("ClinicalRiskLevel", "Informs a clinician's decision; never orders, prescribes or blocks")),
            new XElement(Mc + "TrustIngredients",
                new XElement(Mc + "AISystemFacts",
                    E("OutcomesAndOutputs", $"{V("B.1.iii")} {V("B.1.iv")}"),
                    E("ModelType", equation is not null ? equation.Card.Form
                        : string.Create(Ci, $"Gradient-boosted decision trees (LightGBM: {manifest.Parameters.Leaves} leaves, {manifest.Parameters.Iterations} trees), probabilities calibrated on validation data")),
                    E("InputDataSource", "The patient's FHIR R4 record from the EHR: Patient, Observation, Condition, MedicationStatement, MedicationRequest, Encounter, AllergyIntolerance"),
                    E("OutputAndInputDataTypes", equation is not null ? "Input: the equation's risk factors; output: a probability"
                        : string.Create(Ci, $"Input: {manifest.FeatureNames.Length} features ({manifest.FeatureSchemaId} {manifest.FeatureSchemaVersion}); output: a probability and a band")),
                    E("DevelopmentDataCharacterization", $"{V("B.4.i")} {V("B.4.iii")} {V("B.4.iv")}"),
                    E("BiasMitigationApproaches", $"{V("B.5.i")} {V("B.5.ii")}"),
                    E("OngoingMaintenance", $"{V("B.8.i")} {V("B.9.i")}"),
                    E("Security", "CDS callers are allow-listed and sign JWTs; staff pages need a role; every access and piece of advice is in a hash-chained audit trail."),
                    E("Transparency", $"The 31 HTI-1 source attributes, live: {attributesUrl} (digest {set.Digest}).")),
                new XElement(Mc + "TransparencyInformation",
                    E("FundingSource", options.FundingSource),
                    E("ThirdPartyInformation", "Built with LightGBM and ML.NET (MIT), the Firely .NET SDK (BSD-3) and ASP.NET Core (MIT)"),
                    E("StakeholdersConsulted", "None recorded: no clinicians or patients have been consulted on this model yet"))),
            new XElement(Mc + "KeyMetrics",
                Metric("UsefulnessUsabilityEfficacy", "Discriminate who will have the outcome within its horizon, with estimates that match observed risk.",
                    Usefulness(training, evaluation), "ROC-AUC above 0.7 is useful discrimination; a calibration slope near 1 and a Brier score near the prevalence's show estimates that can be read as risks.",
                    "Internal validation on held-out patients (patient-level split); local validation by the daily evaluation", a["B.7.i"].Measurement?.Window ?? V("B.7.i"), V("B.6.iv")),
                Metric("FairnessEquity", "Perform as well for each sex and age band as for the whole.",
                    Fairness(training, evaluation), V("B.7.ii"), "Subgroup analysis by sex and age band; fairness audit at the operating threshold (ratio of TPR, FPR and flag rate to a reference group, flagged outside 0.8–1.25)",
                    a["B.7.ii"].Measurement?.Window ?? V("B.7.ii"), V("B.5.i")),
                Metric("SafetyReliability", "Keep performing as data and practice change, and say so when it may not.",
                    Reliability(training, evaluation), V("B.3.ii"), "Out-of-time test at training; performance estimated before labels (CBPE) and feature drift in the daily evaluation",
                    a["B.8.ii"].Measurement?.Window ?? V("B.8.ii"), V("B.8.i"))),
            new XElement(Mc + "Resources",
                E("EvaluationReferences", $"Model card: /models/{predictor.Definition.Id}; source attributes: {attributesUrl}; evaluation report from `healthrec evaluate`."),
                E("ClinicalTrial", "None"),
                E("PeerReviewedPublications", V("B.7.v")),
                E("PatientConsentOrDisclosure", "HealthRec asks no patient consent itself; every estimate is shown as a model's estimate and labelled AIAST in FHIR (HL7 AI Transparency).")),
            E("Bibliography", equation is not null ? $"@article{{{equation.Id}, title={{{equation.Citation}}}}}"
                : "@inproceedings{ke2017lightgbm, title={LightGBM: A Highly Efficient Gradient Boosting Decision Tree}, author={Ke, Guolin and others}, booktitle={Advances in Neural Information Processing Systems}, year={2017}}")));
    }

    private static XElement E(string name, string value) => new(Mc + name, value);

    private static XElement Metric(string element, string goal, List<(string Label, string Json)> results, string interpretation, string testType,
        string data, string validation) => new(Mc + element,
            E("MetricGoal", goal),
            new XElement(Mc + "Results", results.Count == 0
                ? [Result("Not yet measured", """{"kind":"single","value":null}""")]
                : results.Select(r => Result(r.Label, r.Json))),
            E("Interpretation", interpretation), E("TestType", testType), E("TestingDataDescription", data), E("ValidationProcessAndJustification", validation));

    private static XElement Result(string label, string json) => new(Mc + "MetricResult", E("Label", label), E("ValueJson", json));

    private static string Single(double value, string? unit = null) =>
        new JsonObject { ["kind"] = "single", ["value"] = Math.Round(value, 4), ["unit"] = unit }.ToJsonString();

    private static string WithInterval(double estimate, double low, double high) =>
        new JsonObject { ["kind"] = "estimate_ci", ["estimate"] = Math.Round(estimate, 4), ["lower"] = Math.Round(low, 4), ["upper"] = Math.Round(high, 4), ["level"] = 95 }.ToJsonString();

    private static IEnumerable<(string, string)> Figures(JsonNode? m, string where)
    {
        if (m is null)
        {
            yield break;
        }

        if (m["roc_auc"] is { } auc)
        {
            yield return ($"ROC-AUC ({where})", m["roc_auc_ci95"] is JsonArray { Count: 2 } ci ? WithInterval((double)auc, (double)ci[0]!, (double)ci[1]!) : Single((double)auc));
        }

        foreach (var (key, label) in new[] { ("pr_auc", "PR-AUC"), ("brier", "Brier score"), ("calibration_slope", "Calibration slope"), ("mae", "Mean absolute error") })
        {
            if (m[key] is JsonValue v && v.TryGetValue<double>(out var x) && double.IsFinite(x))
            {
                yield return ($"{label} ({where})", Single(x));
            }
        }
    }

    private static List<(string, string)> Usefulness(JsonNode? training, JsonNode? evaluation) => [.. Figures(training, "held-out test"), .. Figures(evaluation, "local, newest labelled data")];

    private static List<(string, string)> Fairness(JsonNode? training, JsonNode? evaluation)
    {
        var results = new List<(string, string)>();
        foreach (var (m, where) in new[] { (training, "held-out test"), (evaluation, "local") })
        {
            if (m?["subgroups"] is JsonObject groups)
            {
                foreach (var (group, s) in groups)
                {
                    if (s?["roc_auc"] is JsonValue v && v.TryGetValue<double>(out var auc) && double.IsFinite(auc))
                    {
                        results.Add(($"ROC-AUC {group} ({where})", Single(auc)));
                    }
                }
            }
        }

        return results;
    }

    private static List<(string, string)> Reliability(JsonNode? training, JsonNode? evaluation)
    {
        var results = new List<(string, string)>();
        if (training?["out_of_time"]?["roc_auc"] is JsonValue oot && oot.TryGetValue<double>(out var later))
        {
            results.Add(("ROC-AUC out of time (trained on earlier, tested on later patients)", Single(later)));
        }

        if (evaluation?["estimated_before_labels"]?["roc_auc"] is JsonValue est && est.TryGetValue<double>(out var estimated))
        {
            results.Add(("ROC-AUC estimated before labels (CBPE, local)", Single(estimated)));
        }

        return results;
    }
}
