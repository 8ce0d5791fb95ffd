using System.Text.Json.Serialization;

namespace HealthRec.ML.Evaluation;

/// <summary>
/// Maps a model's raw score to a probability. Fitted on validation data: Platt scaling (a logistic curve) or isotonic
/// regression (a monotone step function, pool-adjacent-violators).
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "method")]
[JsonDerivedType(typeof(PlattCalibrator), "platt")]
[JsonDerivedType(typeof(IsotonicCalibrator), "isotonic")]
public abstract record Calibrator
{
    public abstract double Probability(double score);

    /// <summary>
    /// Below this many validation examples only Platt scaling is fitted: isotonic regression overfits small sets
    /// (scikit-learn's calibration guide puts the limit near 1,000), turning scores into a few steps — probabilities of
    /// exactly 0 or 1, and ties that lower ROC-AUC.
    /// </summary>
    public const int MinIsotonicExamples = 1000;

    /// <summary>
    /// Fits both on half the data, compares them on the other half by log loss, refits the better on all of it (Platt
    /// alone below <see cref="MinIsotonicExamples"/>). With weights (censoring weights) every fit and every loss is weighted.
    /// </summary>
    public static Calibrator Choose(double[] scores, bool[] labels, double[]? weights = null)
    {
        if (scores.Length < MinIsotonicExamples)
        {
            return PlattCalibrator.Fit(scores, labels, weights);
        }

        var half = scores.Length / 2;
        var (s1, l1, s2, l2) = (scores[..half], labels[..half], scores[half..], labels[half..]);
        var (w1, w2) = (weights?[..half], weights?[half..]);
        var platt = LogLoss(PlattCalibrator.Fit(s1, l1, w1), s2, l2, w2) + LogLoss(PlattCalibrator.Fit(s2, l2, w2), s1, l1, w1);
        var isotonic = LogLoss(IsotonicCalibrator.Fit(s1, l1, w1), s2, l2, w2) + LogLoss(IsotonicCalibrator.Fit(s2, l2, w2), s1, l1, w1);
        return isotonic < platt ? IsotonicCalibrator.Fit(scores, labels, weights) : PlattCalibrator.Fit(scores, labels, weights);
    }

    public static double LogLoss(Calibrator calibrator, double[] scores, bool[] labels, double[]? weights = null)
    {
        double sum = 0, total = 0;
        for (var i = 0; i < scores.Length; i++)
        {
            var p = Math.Clamp(calibrator.Probability(scores[i]), 1e-6, 1 - 1e-6);
            var w = weights?[i] ?? 1;
            sum -= w * (labels[i] ? Math.Log(p) : Math.Log(1 - p));
            total += w;
        }

        return sum / Math.Max(1e-12, total);
    }
}

/// <summary>P = 1 / (1 + e^−(A + B·score)).</summary>
public sealed record PlattCalibrator(double A, double B) : Calibrator
{
    public override double Probability(double score) => 1 / (1 + Math.Exp(-(A + (B * score))));

    /// <summary>
    /// Logistic regression of the label on the score (Newton–Raphson), examples weighted when weights are given, with
    /// Platt's smoothed targets — (N₊ + 1) / (N₊ + 2) for an event, 1 / (N₋ + 2) for none (Platt 1999, "Probabilistic
    /// outputs for support vector machines") — so that scores which separate the classes perfectly on a small
    /// validation set do not drive the fit to probabilities of exactly 0 and 1. On thousands of examples the targets
    /// are 1 and 0 to within a thousandth. <paramref name="smoothed"/> false gives the plain maximum-likelihood fit
    /// (the calibration slope metric's).
    /// </summary>
    public static PlattCalibrator Fit(double[] scores, bool[] labels, double[]? weights = null, bool smoothed = true)
    {
        double positives = 0, negatives = 0;
        for (var i = 0; i < scores.Length; i++)
        {
            if (labels[i])
            {
                positives += weights?[i] ?? 1;
            }
            else
            {
                negatives += weights?[i] ?? 1;
            }
        }

        var (high, low) = smoothed ? ((positives + 1) / (positives + 2), 1 / (negatives + 2)) : (1.0, 0.0);
        double a = 0, b = 0;
        for (var iteration = 0; iteration < 200; iteration++)
        {
            double ga = 0, gb = 0, haa = 1e-9, hab = 0, hbb = 1e-9;
            for (var i = 0; i < scores.Length; i++)
            {
                var mu = 1 / (1 + Math.Exp(-(a + (b * scores[i]))));
                var weight = weights?[i] ?? 1;
                var r = weight * ((labels[i] ? high : low) - mu);
                var w = weight * mu * (1 - mu);
                ga += r;
                gb += r * scores[i];
                haa += w;
                hab += w * scores[i];
                hbb += w * scores[i] * scores[i];
            }

            var det = (haa * hbb) - (hab * hab);
            var da = ((hbb * ga) - (hab * gb)) / det;
            var db = ((haa * gb) - (hab * ga)) / det;
            a += da;
            b += db;
            if (Math.Abs(da) + Math.Abs(db) < 1e-10)
            {
                break;
            }
        }

        return new PlattCalibrator(a, b);
    }
}

/// <summary>A non-decreasing step function: each score maps to the fitted rate of the block it falls in.</summary>
public sealed record IsotonicCalibrator(double[] Thresholds, double[] Values) : Calibrator
{
    public override double Probability(double score)
    {
        var i = Array.BinarySearch(Thresholds, score);
        if (i < 0)
        {
            i = Math.Max(0, ~i - 1);
        }

        return Math.Clamp(Values[i], 1e-4, 1 - 1e-4);
    }

    /// <summary>Pool-adjacent-violators over the scores in ascending order (each block's rate weighted when weights are given).</summary>
    public static IsotonicCalibrator Fit(double[] scores, bool[] labels, double[]? weights = null)
    {
        var order = Enumerable.Range(0, scores.Length).OrderBy(i => scores[i]).ToArray();
        var blocks = new List<(double Start, double Sum, double Count)>();
        foreach (var i in order)
        {
            var w = weights?[i] ?? 1;
            blocks.Add((scores[i], labels[i] ? w : 0, w));
            while (blocks.Count > 1 && blocks[^2].Sum * blocks[^1].Count >= blocks[^1].Sum * blocks[^2].Count)
            {
                var (start, sum, count) = blocks[^2];
                var last = blocks[^1];
                blocks.RemoveAt(blocks.Count - 1);
                blocks[^1] = (start, sum + last.Sum, count + last.Count);
            }
        }

        return new IsotonicCalibrator([.. blocks.Select(b => b.Start)], [.. blocks.Select(b => b.Count > 0 ? b.Sum / b.Count : 0)]);
    }
}

/// <summary>One example's follow-up: the time to the event, to a competing event (death without it), or to censoring.</summary>
public readonly record struct SurvivalOutcome(double Time, bool Event, bool Competing = false);

/// <summary>
/// The share with the event by a horizon, from follow-up with censoring: the Aalen–Johansen cumulative incidence,
/// which with no competing event is 1 − the Kaplan–Meier survival.
/// </summary>
public static class KaplanMeier
{
    /// <summary>1 − S(horizon): at each event time, the survival falls by the share of those still at risk who had the event (censorings at a tie count as at risk).</summary>
    public static double CumulativeIncidence(IEnumerable<(double Time, bool Event)> data, double horizon) =>
        CumulativeIncidence(data.Select(d => new SurvivalOutcome(d.Time, d.Event)), horizon);

    /// <summary>
    /// Aalen–Johansen: the incidence adds, at each event time, the share of those at risk with the event times the
    /// probability of having had neither the event nor the competing one before (the all-cause Kaplan–Meier survival
    /// just before); censorings at a tie count as at risk.
    /// </summary>
    public static double CumulativeIncidence(IEnumerable<SurvivalOutcome> data, double horizon)
    {
        var ordered = data.OrderBy(d => d.Time).ThenByDescending(d => d.Event || d.Competing).ToList();
        var atRisk = ordered.Count;
        double free = 1, incidence = 0;
        for (var i = 0; i < ordered.Count;)
        {
            var time = ordered[i].Time;
            if (time > horizon)
            {
                break;
            }

            int events = 0, competing = 0, leaving = 0;
            while (i < ordered.Count && ordered[i].Time == time)
            {
                events += ordered[i].Event ? 1 : 0;
                competing += ordered[i].Competing && !ordered[i].Event ? 1 : 0;
                leaving++;
                i++;
            }

            if (atRisk > 0)
            {
                incidence += free * events / atRisk;
                free *= 1 - ((double)(events + competing) / atRisk);
            }

            atRisk -= leaving;
        }

        return incidence;
    }

    /// <summary>
    /// The observed incidence by the horizon in each tenth (or <paramref name="bins"/>) of predicted risk, against
    /// the mean prediction there: calibration judged against the observed risk, censored examples included.
    /// </summary>
    public static List<CalibrationBin> Bins(IReadOnlyList<double> predicted, IReadOnlyList<SurvivalOutcome> outcomes, double horizon, int bins = 10)
    {
        var order = Enumerable.Range(0, predicted.Count).OrderBy(i => predicted[i]).ToArray();
        var result = new List<CalibrationBin>();
        for (var b = 0; b < bins; b++)
        {
            var from = (int)((long)b * order.Length / bins);
            var to = (int)((long)(b + 1) * order.Length / bins);
            if (to > from)
            {
                var members = order[from..to];
                result.Add(new CalibrationBin(members.Average(i => predicted[i]), CumulativeIncidence(members.Select(i => outcomes[i]), horizon), members.Length));
            }
        }

        return result;
    }
}

/// <summary>
/// The Kaplan–Meier estimate of staying under follow-up, G(t) = P(C > t): the censoring distribution, with a censoring
/// as its event and an outcome event or a full follow-up as its censoring. <see cref="Before"/> gives G(t−), the
/// probability that an example with the outcome at t had not been censored before it — the inverse of which is its
/// weight (IPCW; an event and a censoring at the same time count as the event first).
/// </summary>
public sealed class CensoringSurvival
{
    private readonly double[] times;
    private readonly double[] survival;

    /// <summary>From each at-risk example's time (to the event, the censoring or the end of the horizon) and whether it was censored.</summary>
    public CensoringSurvival(IEnumerable<(double Time, bool Censored)> data)
    {
        var ordered = data.OrderBy(d => d.Time).ToList();
        var atRisk = ordered.Count;
        var g = 1.0;
        var t = new List<double>();
        var s = new List<double>();
        for (var i = 0; i < ordered.Count;)
        {
            var time = ordered[i].Time;
            int censored = 0, leaving = 0;
            while (i < ordered.Count && ordered[i].Time == time)
            {
                censored += ordered[i].Censored ? 1 : 0;
                leaving++;
                i++;
            }

            if (censored > 0 && atRisk > 0)
            {
                g *= 1 - ((double)censored / atRisk);
                t.Add(time);
                s.Add(g);
            }

            atRisk -= leaving;
        }

        (times, survival) = ([.. t], [.. s]);
    }

    /// <summary>G(t−): the share still followed just before <paramref name="time"/>.</summary>
    public double Before(double time)
    {
        var i = Array.BinarySearch(times, time);
        var last = (i >= 0 ? i : ~i) - 1;
        return last < 0 ? 1 : survival[last];
    }

    /// <summary>G(t): the share still followed at <paramref name="time"/>, censorings at it included.</summary>
    public double At(double time)
    {
        var i = Array.BinarySearch(times, time);
        var last = i >= 0 ? i : ~i - 1;
        return last < 0 ? 1 : survival[last];
    }
}
