namespace HealthRec.ML.Registry;

/// <summary>
/// What a challenger must show against the champion on the same held-out patients to replace it (configuration):
/// ROC-AUC not lower by more than <see cref="AucTolerance"/>, a calibration slope within bounds, a Brier score not
/// worse by more than <see cref="BrierTolerance"/>, no subgroup (sex, age band) of at least <see cref="SubgroupMinimum"/>
/// examples (and <see cref="SubgroupMinimumEvents"/> events, below which a subgroup's ROC-AUC is noise) more than
/// <see cref="SubgroupMaxGap"/> below the overall ROC-AUC; for a regression, a mean absolute error not worse by more
/// than <see cref="MaeTolerance"/> (relative). The default gap is 0.15, not 0.1: within one age band the strongest
/// predictor, age, barely varies, so band AUCs sit below the overall one (ascvd-10y's under-45 band is 0.112 below on
/// the default cohort) and a 0.1 gap would reject the champion itself.
/// </summary>
public sealed record GateThresholds
{
    public double AucTolerance { get; init; } = 0.01;

    public double MinCalibrationSlope { get; init; } = 0.8;

    public double MaxCalibrationSlope { get; init; } = 1.2;

    /// <summary>Against a reference equation: the mean estimate within this share of the Kaplan–Meier incidence (calibration in the large).</summary>
    public double InTheLargeTolerance { get; init; } = 0.2;

    public double BrierTolerance { get; init; } = 0.005;

    public int SubgroupMinimum { get; init; } = 100;

    public int SubgroupMinimumEvents { get; init; } = 10;

    public double SubgroupMaxGap { get; init; } = 0.15;

    public double MaeTolerance { get; init; } = 0.02;

    /// <summary>
    /// Whether a challenger whose fairness audit flags a group (TPR, FPR, PPV or flag rate at its threshold outside
    /// 0.8–1.25 of its dimension's largest group) is refused. Off by default: the audit is in every model card and
    /// evaluation; a site decides whether it also blocks a promotion.
    /// </summary>
    public bool RefuseFairnessFlags { get; init; }
}

/// <summary>One check of the gate, with the numbers it compared.</summary>
public sealed record GateCheck(string Name, bool Passed, string Detail);

/// <summary>The gate's decision on a challenger, with every number it used.</summary>
public sealed record GateDecision(
    string Outcome,
    string Challenger,
    string? Champion,
    bool Promote,
    int TestExamples,
    IReadOnlyList<GateCheck> Checks,
    DateTimeOffset DecidedAt)
{
    /// <summary>The reference equation the challenger was also judged against, when the outcome has one.</summary>
    public string? Reference { get; init; }

    /// <summary>Whether the challenger passed every check against the reference equation: with <see cref="Promote"/>, it answers instead of it.</summary>
    public bool OverReference { get; init; }

    public string Summary => Promote
        ? $"{Challenger} promoted over {Champion ?? "no champion"}"
        : $"{Challenger} rejected ({string.Join("; ", Checks.Where(c => !c.Passed).Select(c => c.Name))}); {Champion} stays";

    public string Markdown()
    {
        var s = new StringBuilder();
        s.AppendLine();
        s.AppendLine("## Promotion gate");
        s.AppendLine();
        s.AppendLine(CultureInfo.InvariantCulture, $"{DecidedAt:yyyy-MM-dd HH:mm} UTC, on {TestExamples:N0} held-out examples scored by both: **{Summary}**.");
        s.AppendLine();
        s.AppendLine("| check | passed | numbers |");
        s.AppendLine("| --- | --- | --- |");
        foreach (var check in Checks)
        {
            s.AppendLine(CultureInfo.InvariantCulture, $"| {check.Name} | {(check.Passed ? "yes" : "**no**")} | {check.Detail} |");
        }

        return s.ToString();
    }
}

/// <summary>
/// Decides whether a challenger replaces the champion: both score the same held-out examples (the test part of the
/// challenger's patient split), and every check of <see cref="GateThresholds"/> must pass. Without a champion the
/// challenger is promoted if its own checks (calibration, subgroups) pass.
/// </summary>
public static class PromotionGate
{
    /// <summary>The decision beside the challenger it judged.</summary>
    public const string FileName = "gate.json";

    /// <summary>The reference equation of that id, or null.</summary>
    public static Clinical.Risk.ReferenceModel? ReferenceOf(string id) => Clinical.Risk.ReferenceModels.All.GetValueOrDefault(id);

    /// <summary>How a decision names a reference equation as the champion it judged against.</summary>
    public static string ReferenceChampion(Clinical.Risk.ReferenceModel reference) => $"reference {reference.Id}";

    /// <summary>
    /// The checks a model must pass to answer instead of a validated reference equation, on the held-out examples to
    /// which the equation gives a number, every figure weighted by the examples' censoring weights: better
    /// discrimination (ROC-AUC), a calibration slope within bounds, calibration in the large (its mean estimate over every
    /// at-risk held-out index date against the Kaplan–Meier incidence) within the tolerance, and a net benefit at the
    /// outcome's decision threshold not below the equation's (decision curve analysis).
    /// </summary>
    public static List<GateCheck> AgainstReference(string referenceName, double[] challenger, double[] reference, bool[] labels, double[] weights,
        CalibrationInTheLarge? inTheLarge, double threshold, GateThresholds thresholds)
    {
        var ci = CultureInfo.InvariantCulture;
        var checks = new List<GateCheck>();
        var ours = Evaluation.BinaryMetrics.RocAuc(challenger, labels, weights);
        var theirs = Evaluation.BinaryMetrics.RocAuc(reference, labels, weights);
        checks.Add(new GateCheck($"discrimination against {referenceName}", ours > theirs,
            string.Create(ci, $"ROC-AUC {ours:0.0000} against the equation's {theirs:0.0000} on {labels.Length:N0} examples it gives a number for")));
        var (slope, _) = Evaluation.BinaryMetrics.Calibration(challenger, labels, weights);
        checks.Add(new GateCheck("calibration slope", slope >= thresholds.MinCalibrationSlope && slope <= thresholds.MaxCalibrationSlope,
            string.Create(ci, $"slope {slope:0.000} (bounds {thresholds.MinCalibrationSlope}–{thresholds.MaxCalibrationSlope})")));
        if (inTheLarge is { KaplanMeierIncidence: > 0 } large && double.IsFinite(large.MeanEstimate))
        {
            var ratio = large.MeanEstimate / large.KaplanMeierIncidence;
            checks.Add(new GateCheck("calibration in the large", Math.Abs(ratio - 1) <= thresholds.InTheLargeTolerance,
                string.Create(ci, $"mean estimate {large.MeanEstimate:P2} against a Kaplan–Meier incidence of {large.KaplanMeierIncidence:P2} over {large.AtRisk:N0} at-risk index dates (ratio {ratio:0.00}, tolerance ±{thresholds.InTheLargeTolerance:P0})")));
        }
        else
        {
            checks.Add(new GateCheck("calibration in the large", false, "no Kaplan–Meier comparison on the held-out patients: cannot be shown"));
        }

        var ourBenefit = Evaluation.BinaryMetrics.NetBenefit(challenger, labels, threshold, weights);
        var theirBenefit = Evaluation.BinaryMetrics.NetBenefit(reference, labels, threshold, weights);
        checks.Add(new GateCheck("net benefit", ourBenefit >= theirBenefit,
            string.Create(ci, $"at a risk threshold of {threshold:P1}: {ourBenefit:0.00000} against the equation's {theirBenefit:0.00000} (true positives per patient net of false positives at the threshold's odds)")));
        return checks;
    }

    /// <summary>The fairness check (when the gate is told to refuse flags): no group of the challenger's audit outside the band.</summary>
    public static GateCheck FairnessCheck(OutcomeMetrics challenger)
    {
        var ci = CultureInfo.InvariantCulture;
        if (challenger.Fairness is not { } audit)
        {
            return new GateCheck("fairness", false, "no fairness audit (no operating threshold): cannot be shown");
        }

        var flagged = audit.Flagged.Select(g => $"{g.Dimension}={g.Group} (" + string.Join(", ", g.Ratios.Where(r => r.Flagged)
            .Select(r => string.Create(ci, $"{r.Metric} {r.Ratio:0.00}"))) + ")").ToList();
        return new GateCheck("fairness", flagged.Count == 0, flagged.Count == 0
            ? string.Create(ci, $"every ratio of TPR, FPR, PPV and flag rate at {audit.Threshold:0.###} within {audit.Low}–{audit.High} of its dimension's largest group (or too few to judge)")
            : string.Create(ci, $"outside {audit.Low}–{audit.High} of the largest group: {string.Join("; ", flagged)}"));
    }

    /// <summary>The decision recorded beside a version, or null when the gate never judged it.</summary>
    public static GateDecision? Load(string folder)
    {
        var file = Path.Combine(folder, FileName);
        return File.Exists(file) ? JsonSerializer.Deserialize<GateDecision>(File.ReadAllText(file), ModelRegistry.Json) : null;
    }

    /// <summary>
    /// The decision on <paramref name="challenger"/>: against the champion model when there is one, and — for an outcome
    /// with a reference equation — against the equation too (<see cref="AgainstReference"/>, at <paramref name="referenceThreshold"/>);
    /// every check must pass.
    /// </summary>
    public static GateDecision Decide(OutcomeModel challenger, OutcomeModel? champion, IReadOnlyList<OutcomeExample> test, GateThresholds thresholds,
        DateTimeOffset now, Clinical.Risk.ReferenceModel? reference = null, double referenceThreshold = 0.5)
    {
        var definition = challenger.Definition;
        var batch = test.Select(e => e.Features).ToList();
        var examples = test.ToList();
        var checks = new List<GateCheck>();
        var ci = CultureInfo.InvariantCulture;
        if (definition.Kind == OutcomeKind.Binary)
        {
            var ours = OutcomeMetrics.Binary("challenger", examples, challenger.Predict(batch), challenger.Manifest.Threshold);
            var theirs = champion is null ? null : OutcomeMetrics.Binary("champion", examples, champion.Predict(batch), champion.Manifest.Threshold);
            if (theirs is not null)
            {
                checks.Add(new GateCheck("discrimination", ours.RocAuc >= theirs.RocAuc - thresholds.AucTolerance,
                    string.Create(ci, $"ROC-AUC {ours.RocAuc:0.0000} against {theirs.RocAuc:0.0000} (tolerance {thresholds.AucTolerance})")));
                checks.Add(new GateCheck("accuracy of probabilities", ours.Brier <= theirs.Brier + thresholds.BrierTolerance,
                    string.Create(ci, $"Brier {ours.Brier:0.0000} against {theirs.Brier:0.0000} (tolerance {thresholds.BrierTolerance})")));
            }

            checks.Add(new GateCheck("calibration", ours.CalibrationSlope >= thresholds.MinCalibrationSlope && ours.CalibrationSlope <= thresholds.MaxCalibrationSlope,
                string.Create(ci, $"slope {ours.CalibrationSlope:0.000} (bounds {thresholds.MinCalibrationSlope}–{thresholds.MaxCalibrationSlope})")));
            var large = ours.Subgroups.Where(g => g.Value.N >= thresholds.SubgroupMinimum
                && Math.Round(g.Value.N * (g.Value.Prevalence ?? 0)) >= thresholds.SubgroupMinimumEvents).ToList();
            var weak = large.Where(g => g.Value.RocAuc < ours.RocAuc - thresholds.SubgroupMaxGap)
                .Select(g => string.Create(ci, $"{g.Key} {g.Value.RocAuc:0.000} (n = {g.Value.N:N0})")).ToList();
            var all = string.Join(", ", large.Select(g => string.Create(ci, $"{g.Key} {g.Value.RocAuc:0.000}")));
            checks.Add(new GateCheck("subgroups", weak.Count == 0, large.Count == 0
                ? string.Create(ci, $"no subgroup of ≥ {thresholds.SubgroupMinimum} with ≥ {thresholds.SubgroupMinimumEvents} events in the test set: nothing to compare")
                : weak.Count == 0
                ? string.Create(ci, $"{large.Count} subgroups of ≥ {thresholds.SubgroupMinimum} with ≥ {thresholds.SubgroupMinimumEvents} events ({all}), none more than {thresholds.SubgroupMaxGap} below ROC-AUC {ours.RocAuc:0.000}")
                : string.Create(ci, $"below ROC-AUC {ours.RocAuc:0.000} by more than {thresholds.SubgroupMaxGap}: {string.Join(", ", weak)}")));
            if (thresholds.RefuseFairnessFlags)
            {
                checks.Add(FairnessCheck(ours));
            }
        }
        else
        {
            var ours = OutcomeMetrics.Regression("challenger", examples, challenger.Predict(batch));
            if (champion is not null)
            {
                var theirs = OutcomeMetrics.Regression("champion", examples, champion.Predict(batch));
                checks.Add(new GateCheck("error", ours.Mae <= theirs.Mae * (1 + thresholds.MaeTolerance),
                    string.Create(ci, $"MAE {ours.Mae:0.0000} against {theirs.Mae:0.0000} (relative tolerance {thresholds.MaeTolerance})")));
            }
        }

        var overReference = false;
        if (reference is not null && definition.Kind == OutcomeKind.Binary)
        {
            var scored = examples.Where(e => double.IsFinite(e.ReferenceRisk)).ToList();
            var referenceChecks = scored.Exists(e => e.Label) && scored.Exists(e => !e.Label)
                ? AgainstReference(reference.Name, challenger.Predict([.. scored.Select(e => e.Features)]), [.. scored.Select(e => e.ReferenceRisk)],
                    [.. scored.Select(e => e.Label)], [.. scored.Select(e => e.Weight)], challenger.Manifest.InTheLarge, referenceThreshold, thresholds)
                : [new GateCheck($"against {reference.Name}", false, $"{scored.Count:N0} held-out examples with an equation figure, not both outcomes among them: nothing to compare")];
            checks.AddRange(referenceChecks);
            overReference = referenceChecks.TrueForAll(c => c.Passed);
        }

        return new GateDecision(definition.Id, challenger.Manifest.Version, champion?.Manifest.Version ?? (reference is null ? null : ReferenceChampion(reference)),
            checks.TrueForAll(c => c.Passed), examples.Count, checks, now)
        {
            Reference = reference?.Id,
            OverReference = overReference,
        };
    }

    /// <summary>Writes the decision beside the challenger (<c>gate.json</c>) and appends it to its model card.</summary>
    public static void Record(string challengerFolder, GateDecision decision)
    {
        File.WriteAllText(Path.Combine(challengerFolder, FileName), JsonSerializer.Serialize(decision, ModelRegistry.Json));
        File.AppendAllText(Path.Combine(challengerFolder, "model-card.md"), decision.Markdown());
    }
}
