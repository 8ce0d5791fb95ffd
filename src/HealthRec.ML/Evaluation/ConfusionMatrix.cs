
namespace HealthRec.ML.Evaluation;

/// <summary>
/// Counts and rates at one operating threshold (a score at or above it is called positive). With censoring weights
/// the counts are estimates of what full follow-up would have shown, hence not whole numbers.
/// </summary>
public sealed record ConfusionMatrix(double Threshold, double TruePositives, double FalsePositives, double TrueNegatives, double FalseNegatives)
{
    public double N => TruePositives + FalsePositives + TrueNegatives + FalseNegatives;

    public double Accuracy => Ratio(TruePositives + TrueNegatives, N);

    public double Precision => Ratio(TruePositives, TruePositives + FalsePositives);

    /// <summary>Sensitivity.</summary>
    public double Recall => Ratio(TruePositives, TruePositives + FalseNegatives);

    public double Specificity => Ratio(TrueNegatives, TrueNegatives + FalsePositives);

    public double F1 => Precision + Recall == 0 ? 0 : 2 * Precision * Recall / (Precision + Recall);

    private static double Ratio(double a, double b) => b <= 0 ? 0 : a / b;
}

public readonly record struct CurvePoint(double X, double Y, double Threshold);

/// <summary>One bin of a calibration plot: mean predicted probability against the observed rate.</summary>
public readonly record struct CalibrationBin(double MeanPredicted, double Observed, int Count);
