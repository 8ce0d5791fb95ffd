using System.Net;

namespace HealthRec.ML.Evaluation;

/// <summary>
/// The evaluation report a clinician or reviewer reads: one self-contained HTML page (inline SVG, no scripts, nothing
/// fetched), per outcome: headline, comparison with the baselines, ROC and precision–recall curves, calibration plot,
/// confusion matrix at the operating threshold, subgroups and the model's most used features.
/// </summary>
public static class HtmlReport
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;
    private static readonly string[] Colours = ["#1f6feb", "#d1242f", "#8250df", "#1a7f37", "#bf8700", "#57606a", "#1b7c83", "#bc4c00"];

    public static string Render(IReadOnlyList<OutcomeEvaluation> evaluations, string dataDescription, DateTimeOffset generatedAt,
        IReadOnlyList<Recommendation.RankerMetrics>? recommenders = null)
    {
        var h = new StringBuilder();
        h.Append("""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>HealthRec model evaluation</title>
            <style>
            body{font:15px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;color:#1f2328;padding:0 1rem}
            h1{font-size:1.6rem}h2{border-top:1px solid #d0d7de;padding-top:1.2rem;margin-top:2.2rem}
            table{border-collapse:collapse;margin:.6rem 0}td,th{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:right}
            th:first-child,td:first-child{text-align:left}.best{font-weight:700}.note{color:#57606a;font-size:.9rem}.warn{background:#fff8c5;border-left:4px solid #d4a72c;padding:.5rem .75rem}
            .banner{background:#fff8c5;border:1px solid #d4a72c;padding:.6rem 1rem;border-radius:6px}
            .plots{display:flex;flex-wrap:wrap;gap:1rem}.plots figure{margin:0}figcaption{font-size:.85rem;color:#57606a;text-align:center}
            </style></head><body>
            <h1>HealthRec model evaluation</h1>
            """);
        h.Append(Ci, $"<p class=\"note\">Data: {E(dataDescription)}. Generated {generatedAt:yyyy-MM-dd HH:mm} UTC. Every figure is an estimate on this data; ");
        h.Append("95 % intervals by patient-level bootstrap (200 replicates).</p>");
        if (evaluations.Any(e => e.Manifest.Provenance.Synthetic))
        {
            h.Append("<p class=\"banner\">Models trained on <b>synthetic</b> patients (HealthRec's generator). These results describe that population; validate on local data before clinical use.</p>");
        }

        foreach (var evaluation in evaluations)
        {
            Outcome(h, evaluation);
        }

        if (recommenders is { Count: > 0 })
        {
            h.Append("<h2 id=\"recommender\">Recommender</h2>");
            h.Append(Ci, $"<p class=\"note\">{recommenders[0].Patients:N0} held-out patients, each at the first visit a year or more into their record where their clinicians started a catalog medicine, seen as the prescriber saw it (that day's new prescriptions left out); relevant = the medicines started at that visit; \"helped\" = only those after which the response analyte (LDL, SBP, HbA1c) fell by 5 % or more ({recommenders[0].HelpedPatients:N0} patients). Guideline concordance: of patients with an indicated, allowed medicine not yet taken, the share offered one in the top 3. Contraindicated: recommended items the safety filters would exclude (must be 0).</p>");
            h.Append("<table><tr><th>ranker</th><th>precision@3</th><th>recall@3</th><th>NDCG@3</th><th>precision@5</th><th>recall@5</th><th>NDCG@5</th><th>NDCG@5 (helped)</th><th>coverage@5</th><th>guideline concordance@3</th><th>contraindicated</th></tr>");
            foreach (var r in recommenders)
            {
                h.Append(Ci, $"<tr><td>{E(r.Ranker)}</td><td>{r.PrecisionAt3:0.000}</td><td>{r.RecallAt3:0.000}</td><td>{r.NdcgAt3:0.000}</td><td>{r.PrecisionAt5:0.000}</td>");
                h.Append(Ci, $"<td>{r.RecallAt5:0.000}</td><td>{r.NdcgAt5:0.000}</td><td>{r.HelpedNdcgAt5:0.000}</td><td>{r.CoverageAt5:0.000}</td><td>{r.GuidelineConcordanceAt3:0.000}</td><td>{r.ContraindicatedRecommendations}</td></tr>");
            }

            h.Append("</table>");
            RankerBars(h, recommenders);
        }

        h.Append("</body></html>\n");
        return h.ToString();
    }

    // NDCG@5 per ranker (started, and helped) as horizontal bars.
    private static void RankerBars(StringBuilder h, IReadOnlyList<Recommendation.RankerMetrics> rankers)
    {
        const int Left = 110, Width = 360, Row = 34;
        var height = (rankers.Count * Row) + 40;
        h.Append(Ci, $"<figure><svg role=\"img\" aria-label=\"NDCG at 5 by ranker\" width=\"{Left + Width + 60}\" height=\"{height}\" viewBox=\"0 0 {Left + Width + 60} {height}\">");
        for (var i = 0; i < rankers.Count; i++)
        {
            var r = rankers[i];
            var y = 10 + (i * Row);
            var started = double.IsNaN(r.NdcgAt5) ? 0 : r.NdcgAt5;
            var helped = double.IsNaN(r.HelpedNdcgAt5) ? 0 : r.HelpedNdcgAt5;
            h.Append(Ci, $"<text x=\"{Left - 8}\" y=\"{y + 14}\" text-anchor=\"end\" font-size=\"12\">{E(r.Ranker)}</text>");
            h.Append(Ci, $"<rect x=\"{Left}\" y=\"{y}\" width=\"{started * Width:0.0}\" height=\"12\" fill=\"#2b6cb0\"/><text x=\"{Left + (started * Width) + 4:0.0}\" y=\"{y + 10}\" font-size=\"10\">{started:0.000}</text>");
            h.Append(Ci, $"<rect x=\"{Left}\" y=\"{y + 14}\" width=\"{helped * Width:0.0}\" height=\"10\" fill=\"#68a063\"/><text x=\"{Left + (helped * Width) + 4:0.0}\" y=\"{y + 23}\" font-size=\"10\">{helped:0.000}</text>");
        }

        h.Append(Ci, $"<text x=\"{Left}\" y=\"{height - 8}\" font-size=\"11\">NDCG@5: blue = against what was started, green = against what was started and helped</text></svg>");
        h.Append("<figcaption>NDCG@5 of each ranker on the same held-out patients</figcaption></figure>");
    }

    private static void Outcome(StringBuilder h, OutcomeEvaluation evaluation)
    {
        var d = evaluation.Definition;
        var m = evaluation.Metrics;
        var manifest = evaluation.Manifest;
        h.Append(Ci, $"<h2 id=\"{E(d.Id)}\">{E(d.Title)} <small class=\"note\">{E(d.Id)} · {E(manifest.Version)} · LightGBM</small></h2>");
        h.Append(Ci, $"<p>{E(d.Description ?? "")}</p>");
        h.Append(Ci, $"<p class=\"note\">{evaluation.Counts.Patients:N0} patients, {evaluation.Counts.Landmarks:N0} index dates: {evaluation.Counts.NotAtRisk:N0} not at risk, ");
        h.Append(Ci, $"{evaluation.Counts.Censored:N0} censored, <b>{m.N:N0} evaluated</b>{(d.Kind == OutcomeKind.Binary ? string.Create(Ci, $", prevalence {m.Prevalence:P1}") : "")}. ");
        h.Append(Ci, $"Trained {manifest.TrainedAt:yyyy-MM-dd} on {E(manifest.Provenance.Input)}.</p>");
        if (evaluation.OverlapWarning is { } overlap)
        {
            h.Append(Ci, $"<p class=\"warn\">{E(overlap)}</p>");
        }
        else if (evaluation.TrainingOverlap is null)
        {
            h.Append("<p class=\"note\">This model version predates the record of its training patients: whether this data overlaps them cannot be checked.</p>");
        }

        if (manifest.DemographicsOnly)
        {
            h.Append(Ci, $"<p class=\"warn\">{E(Registry.BundleManifest.DemographicsOnlyWarning)}</p>");
        }

        if (d.Kind == OutcomeKind.Regression)
        {
            Regression(h, m);
            CrossValidated(h, manifest);
            Importance(h, evaluation);
            return;
        }

        var all = new[] { m }.Concat(m.Baselines.Values).ToList();
        var bestAuc = all.Max(x => x.RocAuc ?? 0);
        h.Append("<table><tr><th>model</th><th>ROC-AUC (95 % CI)</th><th>PR-AUC</th><th>Brier</th><th>calibration slope</th><th>intercept</th></tr>");
        foreach (var x in all)
        {
            var ci = x.RocAucCi is { } c ? string.Create(Ci, $" ({c.Low:0.000}–{c.High:0.000})") : "";
            h.Append(Ci, $"<tr><td>{E(Name(x.Algorithm))}</td><td{(x.RocAuc == bestAuc ? " class=\"best\"" : "")}>{x.RocAuc:0.000}{ci}</td><td>{x.PrAuc:0.000}</td>");
            h.Append(RankingOnly(x.Algorithm, d.Id) ? "<td>—</td><td>—</td><td>—</td></tr>"
                : string.Create(Ci, $"<td>{x.Brier:0.0000}</td><td>{x.CalibrationSlope:0.00}</td><td>{x.CalibrationIntercept:0.00}</td></tr>"));
        }

        h.Append("</table>");
        if (all.Exists(x => RankingOnly(x.Algorithm, d.Id)))
        {
            h.Append("<p class=\"note\">An equation shown alongside this outcome estimates another outcome or horizon: it is judged here as a ranking only (ROC-AUC, PR-AUC), on the examples it gives a figure for; its calibration is not this outcome's.</p>");
        }
        if (m.InTheLarge is { } large)
        {
            h.Append(Ci, $"<p class=\"note\">Calibration in the large on every at-risk index date, censored ones included ({large.AtRisk:N0}): ");
            h.Append(Ci, $"Kaplan–Meier incidence by {Horizon(d.HorizonDays)} <b>{large.KaplanMeierIncidence:P1}</b>, mean estimate <b>{large.MeanEstimate:P1}</b>. ");
            h.Append("The table's figures weight each example by the inverse probability of censoring (IPCW), so each estimates what full follow-up would have shown.</p>");
        }

        h.Append("<div class=\"plots\">");
        var series = all.Select(x => (Name(x.Algorithm), BinaryMetrics.RocCurve(x.Probabilities, x.Labels, x.Weights).Select(p => (p.X, p.Y)).ToList())).ToList();
        Figure(h, "ROC curve (false positive rate → true positive rate)", LinePlot(series, diagonal: true, "1 − specificity", "sensitivity"));
        var pr = all.Select(x => (Name(x.Algorithm), BinaryMetrics.PrCurve(x.Probabilities, x.Labels, x.Weights).Select(p => (p.X, p.Y)).ToList())).ToList();
        Figure(h, string.Create(Ci, $"Precision–recall (prevalence {m.Prevalence:P1})"), LinePlot(pr, diagonal: false, "recall", "precision"));
        if (m.InTheLarge?.Tenths is { Count: > 0 } tenths)
        {
            Figure(h, "Calibration: Kaplan–Meier observed risk by tenth of predicted risk (every at-risk index date)", CalibrationPlot([.. tenths]));
        }
        else
        {
            Figure(h, "Calibration: observed rate (IPCW) by tenth of predicted risk", CalibrationPlot(BinaryMetrics.CalibrationBins(m.Probabilities, m.Labels, weights: m.Weights)));
        }
        h.Append("</div>");
        if (m.Confusion is { } cm)
        {
            h.Append(Ci, $"<h3>At the operating threshold {cm.Threshold:0.000} ({E(d.Threshold.Policy.ToString())})</h3>");
            h.Append("<p class=\"note\">Counts are weighted by the inverse probability of censoring: estimates of what full follow-up would have shown.</p>");
            h.Append(Ci, $"<table><tr><th></th><th>event</th><th>no event</th></tr><tr><td>predicted high risk</td><td>{cm.TruePositives:N0}</td><td>{cm.FalsePositives:N0}</td></tr>");
            h.Append(Ci, $"<tr><td>predicted low risk</td><td>{cm.FalseNegatives:N0}</td><td>{cm.TrueNegatives:N0}</td></tr></table>");
            h.Append(Ci, $"<p>Sensitivity {cm.Recall:P1}, specificity {cm.Specificity:P1}, precision {cm.Precision:P1}, accuracy {cm.Accuracy:P1}, F1 {cm.F1:0.000}.</p>");
        }

        CrossValidated(h, manifest);
        h.Append("<h3>Subgroups</h3><table><tr><th>subgroup</th><th>n</th><th>prevalence</th><th>ROC-AUC</th></tr>");
        foreach (var (name, g) in m.Subgroups)
        {
            h.Append(Ci, $"<tr><td>{E(name)}</td><td>{g.N:N0}</td><td>{g.Prevalence:P1}</td><td>{(g.RocAuc is { } a && double.IsFinite(a) ? a.ToString("0.000", Ci) : "—")}</td></tr>");
        }

        h.Append("</table>");
        Fairness(h, m.Fairness);
        DecisionCurve(h, m);
        Importance(h, evaluation);
    }

    // The fairness audit at the threshold: each group's rates with intervals and its ratios to the reference group.
    private static void Fairness(StringBuilder h, FairnessReport? audit)
    {
        if (audit is null)
        {
            return;
        }

        static string R(Rate r) => double.IsFinite(r.Value) ? string.Create(Ci, $"{r.Value:P0} <small>({r.Low:P0}–{r.High:P0})</small>") : "—";
        h.Append(Ci, $"<h3 id=\"fairness\">Fairness at the threshold {audit.Threshold:0.000}</h3><p class=\"note\">Ratios to each dimension's largest group, flagged outside {audit.Low}–{audit.High}; not judged with fewer than {audit.MinimumCount} in a denominator. Race and ethnicity are audited where the data states them (US Core), and are never model inputs.</p>");
        h.Append("<table><tr><th>group</th><th>n</th><th>TPR</th><th>FPR</th><th>PPV</th><th>flag rate</th><th>ratios to the reference</th></tr>");
        foreach (var g in audit.Groups)
        {
            var ratios = g.Reference ? "reference" : string.Join("; ", g.Ratios.Select(r => r.NotJudged is not null ? $"{E(r.Metric)} not judged"
                : string.Create(Ci, $"{E(r.Metric)} {r.Ratio:0.00}{(r.Flagged ? " <strong>flagged</strong>" : "")}")));
            h.Append(Ci, $"<tr data-fairness=\"{E(g.Dimension)}={E(g.Group)}\"><td>{E(g.Dimension)}={E(g.Group)}</td><td>{g.N:N0}</td><td>{R(g.Tpr)}</td><td>{R(g.Fpr)}</td><td>{R(g.Ppv)}</td><td>{R(g.FlagRate)}</td><td>{ratios}</td></tr>");
        }

        h.Append("</table>");
    }

    // Decision curve analysis (Vickers and Elkin 2006): the model's net benefit at risk thresholds against treating
    // everyone and no one, on the same weighted examples.
    private static void DecisionCurve(StringBuilder h, Training.OutcomeMetrics m)
    {
        if (m.Probabilities.Length == 0 || m.Prevalence is not { } prevalence)
        {
            return;
        }

        h.Append("<h3 id=\"decision-curve\">Decision curve</h3><p class=\"note\">Net benefit: true positives per patient net of false positives weighted by the threshold's odds; a model is useful where it beats both treating everyone and no one.</p>");
        h.Append("<table><tr><th>risk threshold</th><th>model</th><th>treat all</th><th>treat none</th></tr>");
        foreach (var t in new[] { 0.02, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5 })
        {
            var model = BinaryMetrics.NetBenefit(m.Probabilities, m.Labels, t, m.Weights);
            var all = prevalence - ((1 - prevalence) * t / (1 - t));
            h.Append(Ci, $"<tr data-threshold=\"{t}\"><td>{t:P1}</td><td>{(model >= Math.Max(all, 0) ? $"<strong>{model:0.0000}</strong>" : model.ToString("0.0000", Ci))}</td><td>{all:0.0000}</td><td>0</td></tr>");
        }

        h.Append("</table>");
    }

    private static void CrossValidated(StringBuilder h, Registry.BundleManifest manifest)
    {
        if (manifest.CrossValidation is not { } cv)
        {
            return;
        }

        h.Append(Ci, $"<h3>Cross-validation at training ({cv.Folds} folds)</h3><p class=\"note\">{E(Training.CrossValidation.Describe(cv))}</p>");
        h.Append(Ci, $"<table><tr><th>model</th><th>{(cv.Metric == "roc_auc" ? "ROC-AUC" : "MAE")} mean ± SD</th><th>pooled out-of-fold</th><th>per fold</th></tr>");
        foreach (var a in cv.Algorithms)
        {
            h.Append(Ci, $"<tr><td>{E(Name(a.Algorithm))}</td><td>{a.Mean:0.000} ± {a.StandardDeviation:0.000}</td><td>{a.Pooled:0.000}</td><td>{string.Join(", ", a.PerFold.Select(v => v.ToString("0.000", Ci)))}</td></tr>");
        }

        h.Append("</table>");
    }

    private static void Regression(StringBuilder h, OutcomeMetrics m)
    {
        h.Append("<table><tr><th>model</th><th>MAE</th><th>RMSE</th><th>R²</th></tr>");
        foreach (var x in new[] { m }.Concat(m.Baselines.Values))
        {
            h.Append(Ci, $"<tr><td>{E(Name(x.Algorithm))}</td><td>{x.Mae:0.000}</td><td>{x.Rmse:0.000}</td><td>{x.R2:0.000}</td></tr>");
        }

        h.Append("</table><h3>Subgroups</h3><table><tr><th>subgroup</th><th>n</th><th>MAE</th><th>R²</th></tr>");
        foreach (var (name, g) in m.Subgroups)
        {
            h.Append(Ci, $"<tr><td>{E(name)}</td><td>{g.N:N0}</td><td>{g.Mae:0.000}</td><td>{g.R2:0.000}</td></tr>");
        }

        h.Append("</table>");
    }

    private static void Importance(StringBuilder h, OutcomeEvaluation evaluation)
    {
        var top = evaluation.Manifest.Importance.Take(12).ToList();
        if (top.Count == 0)
        {
            return;
        }

        h.Append("<h3>What the model uses most (share of split gain, from training)</h3>");
        const int Width = 640, Row = 22, Left = 220;
        var max = top.Max(t => t.Gain);
        var svg = new StringBuilder();
        svg.Append(Ci, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{(top.Count * Row) + 10}\" role=\"img\" aria-label=\"feature importance\">");
        for (var i = 0; i < top.Count; i++)
        {
            var w = (Width - Left - 60) * top[i].Gain / max;
            var y = (i * Row) + 5;
            svg.Append(Ci, $"<text x=\"{Left - 8}\" y=\"{y + 14}\" text-anchor=\"end\" font-size=\"12\">{E(top[i].Name)}</text>");
            svg.Append(Ci, $"<rect x=\"{Left}\" y=\"{y + 2}\" width=\"{w:0.0}\" height=\"{Row - 6}\" fill=\"#1f6feb\"/>");
            svg.Append(Ci, $"<text x=\"{Left + w + 6:0.0}\" y=\"{y + 14}\" font-size=\"12\">{top[i].Gain:P1}</text>");
        }

        svg.Append("</svg>");
        h.Append(svg);
    }

    private static void Figure(StringBuilder h, string caption, string svg) =>
        h.Append(Ci, $"<figure>{svg}<figcaption>{E(caption)}</figcaption></figure>");

    private const int Size = 320, Pad = 40;

    private static string LinePlot(List<(string Name, List<(double X, double Y)> Points)> series, bool diagonal, string xLabel, string yLabel)
    {
        var s = Axes(xLabel, yLabel);
        if (diagonal)
        {
            s.Append(Ci, $"<line x1=\"{X(0)}\" y1=\"{Y(0)}\" x2=\"{X(1)}\" y2=\"{Y(1)}\" stroke=\"#8c959f\" stroke-dasharray=\"4 4\"/>");
        }

        for (var k = 0; k < series.Count; k++)
        {
            var points = Thin(series[k].Points, 400);
            s.Append(Ci, $"<polyline fill=\"none\" stroke=\"{Colours[k % Colours.Length]}\" stroke-width=\"{(k == 0 ? 2.5 : 1.4)}\" points=\"");
            foreach (var (x, y) in points)
            {
                s.Append(Ci, $"{X(x):0.0},{Y(y):0.0} ");
            }

            s.Append("\"/>");
            s.Append(Ci, $"<rect x=\"{Pad + Size - 150}\" y=\"{Pad + Size - 20 - (series.Count * 16) + (k * 16)}\" width=\"10\" height=\"10\" fill=\"{Colours[k % Colours.Length]}\"/>");
            s.Append(Ci, $"<text x=\"{Pad + Size - 135}\" y=\"{Pad + Size - 11 - (series.Count * 16) + (k * 16)}\" font-size=\"11\">{E(series[k].Name)}</text>");
        }

        return s.Append("</svg>").ToString();
    }

    private static string CalibrationPlot(List<CalibrationBin> bins)
    {
        var top = Math.Max(0.05, Math.Min(1, Math.Max(bins.Max(b => b.MeanPredicted), bins.Max(b => b.Observed)) * 1.1));
        var s = Axes("mean predicted risk", "observed rate", top);
        s.Append(Ci, $"<line x1=\"{X(0)}\" y1=\"{Y(0)}\" x2=\"{X(1)}\" y2=\"{Y(1)}\" stroke=\"#8c959f\" stroke-dasharray=\"4 4\"/>");
        s.Append("<polyline fill=\"none\" stroke=\"#1f6feb\" stroke-width=\"2\" points=\"");
        foreach (var b in bins)
        {
            s.Append(Ci, $"{X(b.MeanPredicted / top):0.0},{Y(b.Observed / top):0.0} ");
        }

        s.Append("\"/>");
        foreach (var b in bins)
        {
            s.Append(Ci, $"<circle cx=\"{X(b.MeanPredicted / top):0.0}\" cy=\"{Y(b.Observed / top):0.0}\" r=\"3.5\" fill=\"#1f6feb\"><title>predicted {b.MeanPredicted:P1}, observed {b.Observed:P1}, n={b.Count}</title></circle>");
        }

        return s.Append("</svg>").ToString();
    }

    private static StringBuilder Axes(string xLabel, string yLabel, double top = 1)
    {
        var s = new StringBuilder();
        s.Append(Ci, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Size + (2 * Pad)}\" height=\"{Size + (2 * Pad)}\" role=\"img\" aria-label=\"{E(yLabel)} against {E(xLabel)}\">");
        s.Append(Ci, $"<rect x=\"{Pad}\" y=\"{Pad}\" width=\"{Size}\" height=\"{Size}\" fill=\"#fff\" stroke=\"#d0d7de\"/>");
        for (var t = 0; t <= 4; t++)
        {
            var f = t / 4.0;
            s.Append(Ci, $"<line x1=\"{X(f)}\" y1=\"{Y(0)}\" x2=\"{X(f)}\" y2=\"{Y(1)}\" stroke=\"#eaeef2\"/><line x1=\"{X(0)}\" y1=\"{Y(f)}\" x2=\"{X(1)}\" y2=\"{Y(f)}\" stroke=\"#eaeef2\"/>");
            s.Append(Ci, $"<text x=\"{X(f)}\" y=\"{Y(0) + 14}\" font-size=\"10\" text-anchor=\"middle\">{f * top:0.##}</text>");
            s.Append(Ci, $"<text x=\"{X(0) - 5}\" y=\"{Y(f) + 3}\" font-size=\"10\" text-anchor=\"end\">{f * top:0.##}</text>");
        }

        s.Append(Ci, $"<text x=\"{Pad + (Size / 2)}\" y=\"{Size + Pad + 30}\" font-size=\"12\" text-anchor=\"middle\">{E(xLabel)}</text>");
        s.Append(Ci, $"<text x=\"12\" y=\"{Pad + (Size / 2)}\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 12 {Pad + (Size / 2)})\">{E(yLabel)}</text>");
        return s;
    }

    private static double X(double f) => Pad + (f * Size);

    private static double Y(double f) => Pad + Size - (f * Size);

    private static List<(double X, double Y)> Thin(List<(double X, double Y)> points, int most)
    {
        if (points.Count <= most)
        {
            return points;
        }

        var step = (double)points.Count / most;
        var result = new List<(double, double)>();
        for (var i = 0.0; i < points.Count; i += step)
        {
            result.Add(points[(int)i]);
        }

        result.Add(points[^1]);
        return result;
    }

    // A baseline's name as a reader says it ("logistic_regression" → "logistic regression").
    private static string Name(string algorithm) => algorithm switch
    {
        "lightgbm" => "LightGBM",
        "pooled_cohort_equations" => "Pooled Cohort Equations",
        "prevent-ascvd" => "PREVENT (its patients only)",
        "ckdpc-egfr60" => "CKD-PC (its patients only)",
        "qdiabetes-t2d" => "QDiabetes 10-year (ranking)",
        "prevent-cvd" => "PREVENT total CVD (ranking)",
        "prevent-hf" => "PREVENT heart failure (ranking)",
        _ => algorithm.Replace('_', ' '),
    };

    // An equation estimating another outcome or horizon than the one evaluated (an equation alongside it).
    private static bool RankingOnly(string algorithm, string outcome) =>
        Clinical.Risk.ReferenceModels.All.TryGetValue(algorithm, out var equation) && equation.Outcome != outcome;

    private static string E(string text) => WebUtility.HtmlEncode(text);

    /// <summary>A horizon as a reader says it: days below a year, else years.</summary>
    internal static string Horizon(int days)
    {
        if (days < 365)
        {
            return string.Create(Ci, $"{days} {(days == 1 ? "day" : "days")}");
        }

        var years = (days / 365.25).ToString("0.#", Ci);
        return $"{years} {(years == "1" ? "year" : "years")}";
    }
}
