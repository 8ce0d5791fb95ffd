
namespace HealthRec.ML.Evaluation;

/// <summary>Metrics of a regression model.</summary>
public static class RegressionMetrics
{
    public static (double Mae, double Rmse, double R2) Compute(ReadOnlySpan<double> predicted, ReadOnlySpan<double> actual)
    {
        double absolute = 0, squared = 0, mean = 0;
        for (var i = 0; i < actual.Length; i++)
        {
            mean += actual[i];
        }

        mean /= actual.Length;
        double total = 0;
        for (var i = 0; i < actual.Length; i++)
        {
            var error = predicted[i] - actual[i];
            absolute += Math.Abs(error);
            squared += error * error;
            total += (actual[i] - mean) * (actual[i] - mean);
        }

        return (absolute / actual.Length, Math.Sqrt(squared / actual.Length), total == 0 ? double.NaN : 1 - (squared / total));
    }
}
