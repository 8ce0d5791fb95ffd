namespace HealthRec.ML.Evaluation;

/// <summary>What a model's performance is expected to be on patients whose outcomes are not known yet.</summary>
public sealed record EstimatedPerformance(int N, double ExpectedEvents, double ExpectedEventRate, double RocAuc);

/// <summary>
/// Confidence-based performance estimation (CBPE; NannyML's method, after Platt-calibrated probabilities are taken at
/// their word): with calibrated probabilities, patient i has the event with probability p_i, so the expected numbers of
/// true and false positives above any threshold — hence the expected ROC curve and its area — follow from the
/// probabilities alone, before any outcome is observed. The area is the expected share of (event, non-event) pairs the
/// model orders correctly, Σ_{i≠j} p_i (1 − p_j) [s_i &gt; s_j] (ties count half) over Σ_{i≠j} p_i (1 − p_j), computed
/// in one pass over the sorted scores. It holds while calibration holds (a shift in who the patients are, not in how
/// risk follows from the record): a concept shift shows as a gap between the estimate and the realized value once
/// labels arrive, which is why the evaluation reconciles the two.
/// </summary>
public static class PerformanceEstimate
{
    public static EstimatedPerformance Estimate(ReadOnlySpan<double> probabilities)
    {
        var n = probabilities.Length;
        var order = new int[n];
        for (var i = 0; i < n; i++)
        {
            order[i] = i;
        }

        var p = probabilities.ToArray();
        var keys = probabilities.ToArray();
        Array.Sort(keys, order);
        double expectedEvents = 0, sumNonEventsBelow = 0, concordant = 0, selfPairs = 0;
        for (var start = 0; start < n;)
        {
            // A group of equal scores: pairs inside it count half, and a patient is never paired with themself.
            var end = start;
            double groupEvents = 0, groupNonEvents = 0, groupSelf = 0;
            while (end < n && p[order[end]] == p[order[start]])
            {
                var pi = p[order[end]];
                groupEvents += pi;
                groupNonEvents += 1 - pi;
                groupSelf += pi * (1 - pi);
                end++;
            }

            concordant += (groupEvents * sumNonEventsBelow) + (0.5 * ((groupEvents * groupNonEvents) - groupSelf));
            sumNonEventsBelow += groupNonEvents;
            expectedEvents += groupEvents;
            selfPairs += groupSelf;
            start = end;
        }

        var pairs = (expectedEvents * (n - expectedEvents)) - selfPairs;
        return new EstimatedPerformance(n, expectedEvents, n == 0 ? double.NaN : expectedEvents / n, pairs <= 0 ? double.NaN : concordant / pairs);
    }
}
