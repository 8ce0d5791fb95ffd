namespace HealthRec.ML.Training;

/// <summary>
/// A problem with the data that stops training; the message says what to fix. <see cref="TooShort"/>: the records do not
/// span the outcome's horizon — not a fault of the data, only too little of it for this outcome.
/// </summary>
public sealed class TrainingException(string message, bool tooShort = false) : Exception(message)
{
    public bool TooShort { get; } = tooShort;
}

/// <summary>The rows ML.NET sees: the feature vector (width set at run time), the label and the regression target.</summary>
public sealed class ModelRow
{
    public float[] Features { get; set; } = [];

    public bool Label { get; set; }

    public float Value { get; set; }

    /// <summary>The example's censoring weight (training only; 1 when scoring).</summary>
    public float Weight { get; set; } = 1;

    public static SchemaDefinition Schema(int width) => FeatureVectorSchema.Of<ModelRow>(width);
}

/// <summary>What a LightGBM model (an outcome's or the recommender's ranker) gives for one row.</summary>
public sealed class ScoreRow
{
    public float Score { get; set; }
}

/// <summary>
/// The ML.NET schema of a row type whose <c>float[] Features</c> holds <c>width</c> values: ML.NET cannot know a vector's
/// length from the type, and the feature schema sets it at run time.
/// </summary>
public static class FeatureVectorSchema
{
    public static SchemaDefinition Of<TRow>(int width)
    {
        var schema = SchemaDefinition.Create(typeof(TRow));
        schema[nameof(ModelRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        return schema;
    }
}

/// <summary>Which examples train, tune and test: by patient, so no patient is on two sides.</summary>
public static class PatientSplit
{
    public enum Part
    {
        Train,
        Validation,
        Test,
    }

    /// <summary>60 % train, 20 % validation, 20 % test, from a stable hash of the seed and the patient id.</summary>
    public static Part Of(string patientId, int seed)
    {
        var bucket = (Hash(patientId, (ulong)seed) >> 11) % 100;
        return bucket < 60 ? Part.Train : bucket < 80 ? Part.Validation : Part.Test;
    }

    /// <summary>64-bit FNV-1a of a patient id, its offset basis mixed with <paramref name="salt"/>: stable across processes (string.GetHashCode is not).</summary>
    internal static ulong Hash(string patientId, ulong salt)
    {
        var hash = 14695981039346656037UL ^ salt;
        foreach (var c in patientId)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return hash;
    }
}

/// <summary>The LightGBM parameters that matter, as searched.</summary>
public sealed record LightGbmParameters(int Leaves, double LearningRate, int MinExamplesPerLeaf, double FeatureFraction)
{
    public int Iterations { get; init; }
}

/// <summary>
/// Calibration in the large on every at-risk landmark (censored ones included) of held-out patients: the Kaplan–Meier
/// incidence by the horizon against the mean estimate; and the same by tenth of predicted risk.
/// </summary>
public sealed record CalibrationInTheLarge(int AtRisk, double KaplanMeierIncidence, double MeanEstimate)
{
    public IReadOnlyList<CalibrationBin>? Tenths { get; init; }
}

/// <summary>What training an outcome produced: the model, its calibration and threshold, and the test metrics.</summary>
public sealed class TrainedOutcome
{
    public required OutcomeDefinition Definition { get; init; }

    public required ITransformer Model { get; init; }

    public required DataViewSchema InputSchema { get; init; }

    public Calibrator? Calibrator { get; init; }

    public double Threshold { get; init; }

    public required LightGbmParameters Parameters { get; init; }

    public required ExampleCounts Counts { get; init; }

    public required OutcomeMetrics Metrics { get; init; }

    public required IReadOnlyList<(string Name, double Gain)> Importance { get; init; }

    /// <summary>
    /// Whether every input with at least <see cref="OutcomeTrainer.ContributingGain"/> of the split gain is demographic
    /// (age, sex) — or none is used at all: a model that has learnt nothing from the record's measurements, conditions
    /// and medicines, which usually means the site's data never reached the features (codes no definition reads).
    /// </summary>
    public bool DemographicsOnly { get; init; }

    /// <summary>The patients the model learnt from: those of its training and validation parts (not the held-out test).</summary>
    public IReadOnlyList<string> TrainingPatients { get; init; } = [];

    /// <summary>The baselines trained on the same split, kept so evaluation on new data can compare with them.</summary>
    public required IReadOnlyDictionary<string, BaselineModel> Baselines { get; init; }

    /// <summary>The training examples' feature distributions, for drift.</summary>
    public FeatureReference? Reference { get; init; }
}
