namespace HealthRec.ML.Evaluation;

/// <summary>
/// The metrics of a binary risk model, computed here (not by ML.NET) so each can be checked against a hand calculation:
/// ROC-AUC (Mann–Whitney, ties half), PR-AUC (average precision), Brier score, calibration slope and intercept (logistic
/// recalibration), the operating threshold, and cluster-bootstrap confidence intervals (clusters are patients, who
/// may contribute several landmark examples). Every metric takes optional example weights — the inverse probability
/// of censoring weights of <see cref="Training.OutcomeExamples"/> — so that each is the estimate it would have been had
/// every patient been followed for the whole horizon (Uno's IPCW AUC, Graf's IPCW Brier score); without weights every
/// example counts once.
/// </summary>
public static class BinaryMetrics
{
    public static double RocAuc(ReadOnlySpan<double> scores, ReadOnlySpan<bool> labels, ReadOnlySpan<double> weights = default)
    {
        var order = Order(scores);
        double positives = 0, negatives = 0, concordant = 0;
        var i = 0;
        while (i < order.Length)
        {
            // A run of tied scores: each positive in it beats every negative below and ties (half) those in the run.
            var j = i;
            double runPositives = 0, runNegatives = 0;
            while (j < order.Length && scores[order[j]] == scores[order[i]])
            {
                var w = Weight(weights, order[j]);
                if (labels[order[j]])
                {
                    runPositives += w;
                }
                else
                {
                    runNegatives += w;
                }

                j++;
            }

            concordant += runPositives * (negatives + (runNegatives / 2));
            positives += runPositives;
            negatives += runNegatives;
            i = j;
        }

        return positives <= 0 || negatives <= 0 ? double.NaN : concordant / (positives * negatives);
    }

    /// <summary>Average precision: the precision at each distinct threshold, weighted by the recall it adds.</summary>
    public static double PrAuc(ReadOnlySpan<double> scores, ReadOnlySpan<bool> labels, ReadOnlySpan<double> weights = default)
    {
        var order = Order(scores);
        Array.Reverse(order);
        double positives = 0;
        for (var k = 0; k < labels.Length; k++)
        {
            positives += labels[k] ? Weight(weights, k) : 0;
        }

        if (positives <= 0)
        {
            return double.NaN;
        }

        double tp = 0, fp = 0, previousRecall = 0, ap = 0;
        var i = 0;
        while (i < order.Length)
        {
            var j = i;
            while (j < order.Length && scores[order[j]] == scores[order[i]])
            {
                if (labels[order[j]])
                {
                    tp += Weight(weights, order[j]);
                }
                else
                {
                    fp += Weight(weights, order[j]);
                }

                j++;
            }

            var recall = tp / positives;
            if (tp + fp > 0)
            {
                ap += (recall - previousRecall) * (tp / (tp + fp));
            }

            previousRecall = recall;
            i = j;
        }

        return ap;
    }

    public static double Brier(ReadOnlySpan<double> probabilities, ReadOnlySpan<bool> labels, ReadOnlySpan<double> weights = default)
    {
        double sum = 0, total = 0;
        for (var i = 0; i < probabilities.Length; i++)
        {
            var d = probabilities[i] - (labels[i] ? 1 : 0);
            var w = Weight(weights, i);
            sum += w * d * d;
            total += w;
        }

        return sum / total;
    }

    /// <summary>The (weighted) share of examples with the event: with censoring weights, the IPCW estimate of the risk by the horizon.</summary>
    public static double EventRate(ReadOnlySpan<bool> labels, ReadOnlySpan<double> weights = default)
    {
        double events = 0, total = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            var w = Weight(weights, i);
            events += labels[i] ? w : 0;
            total += w;
        }

        return total > 0 ? events / total : double.NaN;
    }

    /// <summary>
    /// Calibration slope: b in logit P(y) = a + b·logit(p). Calibration intercept (calibration-in-the-large): a in
    /// logit P(y) = a + logit(p), the slope held at 1. Both fitted by Newton–Raphson on the (weighted) log-likelihood.
    /// </summary>
    public static (double Slope, double Intercept) Calibration(ReadOnlySpan<double> probabilities, ReadOnlySpan<bool> labels, ReadOnlySpan<double> weights = default)
    {
        var x = new double[probabilities.Length];
        for (var i = 0; i < x.Length; i++)
        {
            var p = Math.Clamp(probabilities[i], 1e-9, 1 - 1e-9);
            x[i] = Math.Log(p / (1 - p));
        }

        // Slope: the logistic regression of the label on logit(p), Platt scaling's fit without its smoothed targets.
        var b = PlattCalibrator.Fit(x, labels.ToArray(), weights.IsEmpty ? null : weights.ToArray(), smoothed: false).B;

        // Intercept with the slope fixed at 1 (logit(p) as an offset).
        double c = 0;
        for (var iteration = 0; iteration < 100; iteration++)
        {
            double g = 0, h = 0;
            for (var i = 0; i < x.Length; i++)
            {
                var mu = Expit(c + x[i]);
                var w = Weight(weights, i);
                g += w * ((labels[i] ? 1 : 0) - mu);
                h += w * mu * (1 - mu);
            }

            var step = h < 1e-12 ? 0 : g / h;
            c += step;
            if (Math.Abs(step) < 1e-10)
            {
                break;
            }
        }

        return (b, c);
    }

    public static ConfusionMatrix At(ReadOnlySpan<double> scores, ReadOnlySpan<bool> labels, double threshold, ReadOnlySpan<double> weights = default)
    {
        double tp = 0, fp = 0, tn = 0, fn = 0;
        for (var i = 0; i < scores.Length; i++)
        {
            var w = Weight(weights, i);
            switch (scores[i] >= threshold, labels[i])
            {
                case (true, true): tp += w; break;
                case (true, false): fp += w; break;
                case (false, false): tn += w; break;
                default: fn += w; break;
            }
        }

        return new ConfusionMatrix(threshold, tp, fp, tn, fn);
    }

    /// <summary>The threshold among the observed scores that maximizes F1 (the highest such score on ties).</summary>
    public static double MaxF1Threshold(ReadOnlySpan<double> scores, ReadOnlySpan<bool> labels, ReadOnlySpan<double> weights = default)
    {
        var best = (F1: -1.0, Threshold: 0.5);
        foreach (var (threshold, matrix) in Sweep(scores, labels, weights))
        {
            if (matrix.F1 > best.F1)
            {
                best = (matrix.F1, threshold);
            }
        }

        return best.Threshold;
    }

    /// <summary>The highest threshold among the observed scores whose sensitivity reaches <paramref name="sensitivity"/>.</summary>
    public static double SensitivityThreshold(ReadOnlySpan<double> scores, ReadOnlySpan<bool> labels, double sensitivity, ReadOnlySpan<double> weights = default)
    {
        foreach (var (threshold, matrix) in Sweep(scores, labels, weights))
        {
            if (matrix.Recall >= sensitivity)
            {
                return threshold;
            }
        }

        return 0;
    }

    /// <summary>
    /// Net benefit at a risk threshold (Vickers and Elkin, Med Decis Making 2006): true positives per example minus false
    /// positives per example weighted by the odds of the threshold — the benefit of treating those at or above it.
    /// </summary>
    public static double NetBenefit(ReadOnlySpan<double> probabilities, ReadOnlySpan<bool> labels, double threshold, ReadOnlySpan<double> weights = default)
    {
        var m = At(probabilities, labels, threshold, weights);
        return m.N <= 0 ? double.NaN : (m.TruePositives / m.N) - (m.FalsePositives / m.N * threshold / (1 - threshold));
    }

    /// <summary>ROC curve points (false positive rate, true positive rate), from the highest threshold down.</summary>
    public static List<CurvePoint> RocCurve(ReadOnlySpan<double> scores, ReadOnlySpan<bool> labels, ReadOnlySpan<double> weights = default)
    {
        var points = new List<CurvePoint> { new(0, 0, double.PositiveInfinity) };
        foreach (var (threshold, m) in Sweep(scores, labels, weights))
        {
            points.Add(new CurvePoint(1 - m.Specificity, m.Recall, threshold));
        }

        return points;
    }

    /// <summary>Precision–recall points (recall, precision), from the highest threshold down.</summary>
    public static List<CurvePoint> PrCurve(ReadOnlySpan<double> scores, ReadOnlySpan<bool> labels, ReadOnlySpan<double> weights = default)
    {
        var points = new List<CurvePoint>();
        foreach (var (threshold, m) in Sweep(scores, labels, weights))
        {
            points.Add(new CurvePoint(m.Recall, m.Precision, threshold));
        }

        return points;
    }

    /// <summary>Calibration in <paramref name="bins"/> groups of equal size by predicted probability (observed: the weighted event rate).</summary>
    public static List<CalibrationBin> CalibrationBins(ReadOnlySpan<double> probabilities, ReadOnlySpan<bool> labels, int bins = 10, ReadOnlySpan<double> weights = default)
    {
        var order = Order(probabilities);
        var result = new List<CalibrationBin>();
        for (var b = 0; b < bins; b++)
        {
            var from = (int)((long)b * order.Length / bins);
            var to = (int)((long)(b + 1) * order.Length / bins);
            if (to <= from)
            {
                continue;
            }

            double predicted = 0, observed = 0, total = 0;
            for (var k = from; k < to; k++)
            {
                var w = Weight(weights, order[k]);
                predicted += probabilities[order[k]];
                observed += labels[order[k]] ? w : 0;
                total += w;
            }

            result.Add(new CalibrationBin(predicted / (to - from), total > 0 ? observed / total : double.NaN, to - from));
        }

        return result;
    }

    /// <summary>
    /// A 95 % percentile interval for a metric by cluster bootstrap: clusters (patients) are drawn with replacement,
    /// all of a cluster's examples together, with their weights. Deterministic for a seed.
    /// </summary>
    public static (double Low, double High) BootstrapInterval(double[] scores, bool[] labels, string[] clusters,
        Func<double[], bool[], double[], double> metric, double[]? weights = null, int replicates = 200, int seed = 17)
    {
        var groups = clusters.Select((c, i) => (c, i)).GroupBy(x => x.c, StringComparer.Ordinal).Select(g => g.Select(x => x.i).ToArray()).ToArray();
        var random = new Random(seed);
        var values = new List<double>(replicates);
        var s = new List<double>(scores.Length);
        var l = new List<bool>(scores.Length);
        var w = new List<double>(scores.Length);
        for (var r = 0; r < replicates; r++)
        {
            s.Clear();
            l.Clear();
            w.Clear();
            for (var g = 0; g < groups.Length; g++)
            {
                foreach (var i in groups[random.Next(groups.Length)])
                {
                    s.Add(scores[i]);
                    l.Add(labels[i]);
                    w.Add(weights?[i] ?? 1);
                }
            }

            var value = metric([.. s], [.. l], [.. w]);
            if (!double.IsNaN(value))
            {
                values.Add(value);
            }
        }

        if (values.Count == 0)
        {
            return (double.NaN, double.NaN);
        }

        values.Sort();
        return (Percentile(values, 0.025), Percentile(values, 0.975));
    }

    // Thresholds at each distinct score, highest first, with the (weighted) confusion matrix there.
    private static List<(double Threshold, ConfusionMatrix Matrix)> Sweep(ReadOnlySpan<double> scores, ReadOnlySpan<bool> labels, ReadOnlySpan<double> weights)
    {
        var order = Order(scores);
        Array.Reverse(order);
        double positives = 0, negatives = 0;
        for (var k = 0; k < labels.Length; k++)
        {
            if (labels[k])
            {
                positives += Weight(weights, k);
            }
            else
            {
                negatives += Weight(weights, k);
            }
        }

        var steps = new List<(double Threshold, ConfusionMatrix Matrix)>();
        double tp = 0, fp = 0;
        var i = 0;
        while (i < order.Length)
        {
            var threshold = scores[order[i]];
            while (i < order.Length && scores[order[i]] == threshold)
            {
                if (labels[order[i]])
                {
                    tp += Weight(weights, order[i]);
                }
                else
                {
                    fp += Weight(weights, order[i]);
                }

                i++;
            }

            steps.Add((threshold, new ConfusionMatrix(threshold, tp, fp, negatives - fp, positives - tp)));
        }

        return steps;
    }

    private static double Weight(ReadOnlySpan<double> weights, int i) => weights.IsEmpty ? 1 : weights[i];

    private static int[] Order(ReadOnlySpan<double> scores)
    {
        var order = new int[scores.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        var keys = scores.ToArray();
        Array.Sort(keys, order);
        return order;
    }

    private static double Percentile(List<double> sorted, double q)
    {
        var position = q * (sorted.Count - 1);
        var low = (int)Math.Floor(position);
        var high = (int)Math.Ceiling(position);
        return sorted[low] + ((position - low) * (sorted[high] - sorted[low]));
    }

    private static double Expit(double x) => 1 / (1 + Math.Exp(-x));
}
