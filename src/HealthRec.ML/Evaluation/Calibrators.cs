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

    /// <summary>Fits both on half the data, compares them on the other half by log loss, refits the better on all of it.</summary>
    public static Calibrator Choose(double[] scores, bool[] labels)
    {
        var half = scores.Length / 2;
        var (s1, l1, s2, l2) = (scores[..half], labels[..half], scores[half..], labels[half..]);
        var platt = LogLoss(PlattCalibrator.Fit(s1, l1), s2, l2) + LogLoss(PlattCalibrator.Fit(s2, l2), s1, l1);
        var isotonic = LogLoss(IsotonicCalibrator.Fit(s1, l1), s2, l2) + LogLoss(IsotonicCalibrator.Fit(s2, l2), s1, l1);
        return isotonic < platt ? IsotonicCalibrator.Fit(scores, labels) : PlattCalibrator.Fit(scores, labels);
    }

    public static double LogLoss(Calibrator calibrator, double[] scores, bool[] labels)
    {
        double sum = 0;
        for (var i = 0; i < scores.Length; i++)
        {
            var p = Math.Clamp(calibrator.Probability(scores[i]), 1e-6, 1 - 1e-6);
            sum -= labels[i] ? Math.Log(p) : Math.Log(1 - p);
        }

        return sum / Math.Max(1, scores.Length);
    }
}

/// <summary>P = 1 / (1 + e^−(A + B·score)).</summary>
public sealed record PlattCalibrator(double A, double B) : Calibrator
{
    public override double Probability(double score) => 1 / (1 + Math.Exp(-(A + (B * score))));

    /// <summary>Logistic regression of the label on the score (Newton–Raphson).</summary>
    public static PlattCalibrator Fit(double[] scores, bool[] labels)
    {
        double a = 0, b = 0;
        for (var iteration = 0; iteration < 200; iteration++)
        {
            double ga = 0, gb = 0, haa = 1e-9, hab = 0, hbb = 1e-9;
            for (var i = 0; i < scores.Length; i++)
            {
                var mu = 1 / (1 + Math.Exp(-(a + (b * scores[i]))));
                var r = (labels[i] ? 1 : 0) - mu;
                var w = mu * (1 - mu);
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

    /// <summary>Pool-adjacent-violators over the scores in ascending order.</summary>
    public static IsotonicCalibrator Fit(double[] scores, bool[] labels)
    {
        var order = Enumerable.Range(0, scores.Length).OrderBy(i => scores[i]).ToArray();
        var blocks = new List<(double Start, double Sum, int Count)>();
        foreach (var i in order)
        {
            blocks.Add((scores[i], labels[i] ? 1 : 0, 1));
            while (blocks.Count > 1 && blocks[^2].Sum / blocks[^2].Count >= blocks[^1].Sum / blocks[^1].Count)
            {
                var (start, sum, count) = blocks[^2];
                var last = blocks[^1];
                blocks.RemoveAt(blocks.Count - 1);
                blocks[^1] = (start, sum + last.Sum, count + last.Count);
            }
        }

        return new IsotonicCalibrator([.. blocks.Select(b => b.Start)], [.. blocks.Select(b => b.Sum / b.Count)]);
    }
}

/// <summary>The Kaplan–Meier estimate of the share with the event by a horizon, from (time, event) pairs with censoring.</summary>
public static class KaplanMeier
{
    /// <summary>1 − S(horizon): at each event time, the survival falls by the share of those still at risk who had the event (censorings at a tie count as at risk).</summary>
    public static double CumulativeIncidence(IEnumerable<(double Time, bool Event)> data, double horizon)
    {
        var ordered = data.OrderBy(d => d.Time).ThenByDescending(d => d.Event).ToList();
        var atRisk = ordered.Count;
        var survival = 1.0;
        for (var i = 0; i < ordered.Count;)
        {
            var time = ordered[i].Time;
            if (time > horizon)
            {
                break;
            }

            int events = 0, leaving = 0;
            while (i < ordered.Count && ordered[i].Time == time)
            {
                events += ordered[i].Event ? 1 : 0;
                leaving++;
                i++;
            }

            if (events > 0 && atRisk > 0)
            {
                survival *= 1 - ((double)events / atRisk);
            }

            atRisk -= leaving;
        }

        return 1 - survival;
    }
}
