using HealthRec.Clinical.Safety;
using MlPlatt = Microsoft.ML.Calibrators.PlattCalibrator;

namespace HealthRec.ML.Serving;

/// <summary>One factor behind a prediction, in clinical words, with its push on the model's score (+ raises, − lowers).</summary>
public sealed record RiskFactor(string Feature, string Text, double Contribution)
{
    public string Direction => Contribution >= 0 ? "raises" : "lowers";
}

/// <summary>
/// An estimate for one patient at one date: what it is (probability or value, from which model and version), its band,
/// and the factors that moved it most.
/// </summary>
public sealed record RiskPrediction(
    string Outcome,
    string Title,
    string ModelVersion,
    OutcomeKind Kind,
    double Estimate,
    string? Band,
    double? Threshold,
    IReadOnlyList<RiskFactor> Factors,
    string Validation)
{
    /// <summary>The outcome's reference equation for the same patient (its estimate, or why none), when the outcome has one.</summary>
    public ReferenceEstimate? Reference { get; init; }

    /// <summary>Whether the reference equation is the model answering (the champion), not a LightGBM model.</summary>
    public bool ByReference { get; init; }

    /// <summary>
    /// The equations shown beside this estimate (<see cref="OutcomeDefinition.Alongside"/>), each evaluated for the same
    /// patient; empty until <see cref="OutcomePredictor.WithAlongside"/> fills it where the estimate is shown.
    /// </summary>
    public IReadOnlyList<ReferenceEstimate> Alongside { get; init; } = [];

    /// <summary>What the estimate lacks: inputs missing, stale, unreadable or assumed — listed apart from the reasons.</summary>
    public IReadOnlyList<string> Lacks { get; init; } = [];

    /// <summary>Of <see cref="Lacks"/>, the inputs the record holds but could not be read: said on a card even at the lowest band.</summary>
    public IReadOnlyList<string> Unreadable { get; init; } = [];

    /// <summary>Inputs not used as reported (an eGFR read under a unit equivalence or computed from creatinine), said where used.</summary>
    public IReadOnlyList<string> Read { get; init; } = [];

    /// <summary>The newest input the estimate used, when known: an estimate "as of" its data, not of today.</summary>
    public DateTimeOffset? AsOf { get; init; }

    /// <summary>Whether the model was trained on synthetic data (every estimate says so).</summary>
    public bool Synthetic { get; init; }
}

/// <summary>
/// Serves one outcome model: eligibility by the outcome's population, the calibrated estimate, the risk band and the
/// top contributing features (ML.NET feature contributions on the LightGBM model) worded from the feature schema and
/// the terminology ("HbA1c 6.2 % (raised)"). A prediction engine per thread: ML.NET's engine is not thread-safe.
/// </summary>
public sealed class OutcomePredictor : IDisposable
{
    private const int TopFactors = 5;
    private readonly MLContext _ml = new();
    private readonly OutcomeModel _model;
    private readonly Featurizer _featurizer;
    private readonly FeatureWording _wording;
    private readonly OutcomeLabeler _labeler;
    private readonly ThreadLocal<PredictionEngine<ModelRow, ContributionRow>> _engines;
    private readonly Evaluation.FeatureReference? _ranges;

    /// <summary>
    /// Serves <paramref name="model"/>; with a <paramref name="reference"/> equation, the equation answers (and its
    /// estimate is given beside the model's) unless <paramref name="promotedOverReference"/>: the promotion gate judged
    /// the model better than the equation on the site's held-out patients.
    /// </summary>
    public OutcomePredictor(OutcomeModel model, Featurizer featurizer, ClinicalTerminology terminology, ReferenceModel? reference = null,
        bool promotedOverReference = false, IReadOnlyList<ReferenceModel>? alongside = null)
    {
        Reference = reference;
        Alongside = alongside ?? [];
        PromotedOverReference = reference is not null && promotedOverReference;
        if (!featurizer.Names.SequenceEqual(model.Manifest.FeatureNames))
        {
            throw new TrainingException($"{model.Manifest.Outcome} {model.Manifest.Version} needs feature schema {model.Manifest.FeatureSchemaId} " +
                $"{model.Manifest.FeatureSchemaVersion}; the featurizer given is {featurizer.Schema.Id} {featurizer.Schema.Version}.");
        }

        _model = model;
        _featurizer = featurizer;
        _ranges = Evaluation.FeatureReference.Load(model.Folder);
        _wording = new FeatureWording(featurizer.Schema, terminology);
        _labeler = new OutcomeLabeler(model.Definition);
        var contributions = model.Transformer switch
        {
            BinaryPredictionTransformer<Microsoft.ML.Calibrators.CalibratedModelParametersBase<LightGbmBinaryModelParameters, MlPlatt>> b =>
                (ITransformer)_ml.Transforms.CalculateFeatureContribution(b, TopFactors, TopFactors, normalize: false).Fit(Empty()),
            RegressionPredictionTransformer<LightGbmRegressionModelParameters> r =>
                _ml.Transforms.CalculateFeatureContribution(r, TopFactors, TopFactors, normalize: false).Fit(Empty()),
            _ => throw new TrainingException($"{model.Manifest.Outcome}: the model is not a LightGBM model HealthRec can explain."),
        };
        var chain = model.Transformer.Append(contributions);
        _engines = new(() => _ml.Model.CreatePredictionEngine<ModelRow, ContributionRow>(chain, inputSchemaDefinition: ModelRow.Schema(featurizer.Width)),
            trackAllValues: true);
    }

    public OutcomeDefinition Definition => _model.Definition;

    /// <summary>The outcome's reference equation, when it has one.</summary>
    public ReferenceModel? Reference { get; }

    /// <summary>The equations whose estimates are given beside this outcome's (other outcomes or horizons; never compared with it).</summary>
    public IReadOnlyList<ReferenceModel> Alongside { get; }

    /// <summary>Whether the LightGBM model answers although the outcome has a reference equation (the gate promoted it over it).</summary>
    public bool PromotedOverReference { get; }

    /// <summary>Whether the reference equation answers: the outcome has one and no model was promoted over it.</summary>
    public bool ReferenceAnswers => Reference is not null && !PromotedOverReference;

    /// <summary>The version that answers: the reference equation's id, or the model's version.</summary>
    public string AnsweringVersion => ReferenceAnswers ? Reference!.Id : _model.Manifest.Version;

    /// <summary>
    /// The current version of one outcome in a registry, with the outcome's reference equation and the equations shown
    /// alongside it — named by the bundle's definition, or else by the registry's <c>outcomes/&lt;id&gt;.json</c> — the
    /// reference answering unless the gate promoted the model over it (its <c>gate.json</c>).
    /// </summary>
    public static OutcomePredictor LoadCurrent(string registry, string outcome, Featurizer featurizer, ClinicalTerminology terminology)
    {
        var folder = ModelRegistry.CurrentFolder(registry, outcome) ?? throw new FileNotFoundException($"No current version of '{outcome}' in '{registry}'.");
        var model = OutcomeModel.Load(folder);
        var file = model.Definition.Reference is null || model.Definition.Alongside.IsEmpty
            ? Outcomes.OutcomeFiles.DefinitionOf(Path.Combine(registry, "outcomes"), outcome, terminology)
            : null;
        var referenceId = model.Definition.Reference ?? file?.Reference;
        var reference = referenceId is not null && ReferenceModels.All.TryGetValue(referenceId, out var found) ? found : null;
        var promoted = reference is not null && PromotionGate.Load(folder) is { Promote: true, OverReference: true } decision && decision.Reference == reference.Id;
        var alongside = model.Definition.Alongside.IsEmpty ? file?.Alongside ?? [] : model.Definition.Alongside;
        return new(model, featurizer, terminology, reference, promoted, [.. alongside.Select(id => ReferenceModels.All[id])]);
    }

    /// <summary>The current version of every outcome in a registry, by outcome id.</summary>
    public static Dictionary<string, OutcomePredictor> LoadCurrent(string registry, Featurizer featurizer, ClinicalTerminology terminology) =>
        ModelRegistry.Outcomes(registry).ToDictionary(o => o, o => LoadCurrent(registry, o, featurizer, terminology), StringComparer.Ordinal);

    public BundleManifest Manifest => _model.Manifest;

    /// <summary>The bundle behind the predictor, for batch scoring (evaluation).</summary>
    public OutcomeModel Model => _model;

    /// <summary>Whether the patient is in the outcome's population at <paramref name="at"/> (age, prevalent disease).</summary>
    public bool Applies(PatientRecord record, DateTimeOffset at) => _labeler.Label(record, at).Status != LabelStatus.NotAtRisk;

    /// <summary>
    /// The estimate with its reasons, or null when the patient is outside the outcome's population, or the reference
    /// equation answers and can give no number (<see cref="NotEstimated"/> says why).
    /// </summary>
    public RiskPrediction? Predict(PatientRecord record, DateTimeOffset at) => Predict(record, at, null);

    /// <summary>
    /// Why no estimate is given for a patient in the outcome's population (the reference equation answers and an input
    /// is missing or outside its valid range), or null when one is given or the patient is outside the population.
    /// </summary>
    public ReferenceEstimate? NotEstimated(PatientRecord record, DateTimeOffset at) => ReferenceAnswers ? Assess(record, at, null).NotEstimated : null;

    /// <summary>As <see cref="Predict(PatientRecord, DateTimeOffset)"/>, reusing the patient's feature vector at <paramref name="at"/> when the caller has it.</summary>
    public RiskPrediction? Predict(PatientRecord record, DateTimeOffset at, float[]? featuresAt) => Assess(record, at, featuresAt).Prediction;

    /// <summary>
    /// <see cref="Predict(PatientRecord, DateTimeOffset, float[])"/> and <see cref="NotEstimated"/> from one evaluation: the
    /// estimate, or — for a patient in the population to whom the answering equation gives no number — why; both null
    /// outside the population.
    /// </summary>
    public (RiskPrediction? Prediction, ReferenceEstimate? NotEstimated) Assess(PatientRecord record, DateTimeOffset at, float[]? featuresAt)
    {
        if (!Applies(record, at))
        {
            return (null, null);
        }

        var manifest = _model.Manifest;
        var reference = Reference?.Evaluate(record, at);
        if (ReferenceAnswers)
        {
            return reference!.Estimate is { } risk ? (FromReference(reference, risk), null) : (null, reference);
        }

        var features = featuresAt ?? _featurizer.Featurize(record, at);
        var output = _engines.Value!.Predict(new ModelRow { Features = features });
        var binary = Definition.Kind == OutcomeKind.Binary;
        var estimate = binary && manifest.Calibrator is { } calibrator ? calibrator.Probability(output.Score) : output.Score;
        // Contributions grouped by clinical quantity (an analyte's last value, trend and maximum together); a gap in
        // the record (a value missing, a result long ago) is what the estimate lacks, not a reason for the risk.
        var pushes = output.FeatureContributions
            .Select((c, i) => (Contribution: (double)c, Index: i))
            .Where(x => x.Contribution != 0)
            .ToList();
        // An analyte whose newer result could not be read is said as that, not also as "not recorded".
        var unread = Unreadable(record, at).ToList();
        var unreadable = unread.Select(u => u.Text).ToList();
        var lacks = pushes.Where(x => _wording.IsGap(x.Index, features) && !unread.Any(u => u.Analyte == _wording.Quantity(x.Index)))
            .OrderByDescending(x => Math.Abs(x.Contribution))
            .Select(x => _wording.Describe(x.Index, features)).Distinct(StringComparer.Ordinal).Take(TopFactors).ToList();
        lacks.InsertRange(0, unreadable);
        lacks.AddRange(OutsideTraining(features));
        var factors = pushes.Where(x => !_wording.IsGap(x.Index, features))
            .GroupBy(x => _wording.Quantity(x.Index), StringComparer.Ordinal)
            // Worded by the quantity's measured value where it has one ("eGFR 48", not "last eGFR 90 days ago").
            .Select(g => (Top: g.OrderByDescending(x => _wording.IsMeasured(x.Index)).ThenByDescending(x => Math.Abs(x.Contribution)).First(),
                Sum: g.Sum(x => x.Contribution)))
            .OrderByDescending(x => Math.Abs(x.Sum))
            .Select(x => new RiskFactor(_featurizer.Names[x.Top.Index], _wording.Describe(x.Top.Index, features), x.Sum))
            .DistinctBy(f => f.Text, StringComparer.Ordinal)
            .Take(TopFactors)
            .ToList();
        return (new RiskPrediction(Definition.Id, Definition.Title, manifest.Version, Definition.Kind, estimate,
            binary ? Definition.BandOf(estimate, manifest.Threshold) : null, binary ? manifest.Threshold : null, factors, manifest.Validation)
        {
            Reference = reference,
            Lacks = lacks,
            Unreadable = unreadable,
            AsOf = LastInput(record, at),
            Synthetic = manifest.Provenance.Synthetic,
        }, null);
    }

    /// <summary>
    /// The prediction with the equations alongside it evaluated for the same patient (<see cref="RiskPrediction.Alongside"/>):
    /// asked for where an estimate is shown (a card, the page, a written-back note), not on every prediction — the
    /// recommender and scoring predict far more often than anything is shown.
    /// </summary>
    public RiskPrediction WithAlongside(RiskPrediction prediction, PatientRecord record, DateTimeOffset at) =>
        Alongside.Count == 0 ? prediction : prediction with { Alongside = [.. Alongside.Select(m => m.Evaluate(record, at))] };

    /// <summary>The threshold a reference equation's estimate is judged against (<see cref="OutcomeDefinition.DecisionThreshold"/>).</summary>
    public double ReferenceThreshold => Definition.DecisionThreshold;

    private RiskPrediction FromReference(ReferenceEstimate reference, double risk)
    {
        var model = reference.Model;
        var factors = reference.Reasons.Take(TopFactors).Select(r => new RiskFactor(r.Quantity, r.Text, r.Contribution)).ToList();
        return new RiskPrediction(Definition.Id, Definition.Title, model.Id, Definition.Kind, risk, Definition.BandOf(risk, ReferenceThreshold),
            ReferenceThreshold, factors, $"{model.Name}: {model.Validation} ({model.Citation})")
        {
            Reference = reference,
            ByReference = true,
            Lacks = reference.Lacks,
            Unreadable = reference.Unreadable,
            Read = reference.Read,
            AsOf = reference.AsOf,
        };
    }

    // A measured value beyond the lowest or highest the model saw in training: the trees treat it as that bound (an
    // implicit clamp), which the estimate says rather than extrapolate silently.
    private IEnumerable<string> OutsideTraining(float[] features)
    {
        if (_ranges is null || _ranges.Features.Length != features.Length)
        {
            yield break;
        }

        for (var i = 0; i < features.Length; i++)
        {
            var range = _ranges.Features[i];
            var value = features[i];
            if (float.IsNaN(value) || range.Min is not { } min || range.Max is not { } max || !_wording.IsMeasured(i) || (value >= min && value <= max))
            {
                continue;
            }

            yield return string.Create(CultureInfo.InvariantCulture,
                $"{_wording.Describe(i, features)}: outside the {min:0.##}–{max:0.##} the model was trained on; it reads it as {(value < min ? min : max):0.##}");
        }
    }

    // Results of the model's analytes the record holds but could not read (a unit it cannot compare, no value), newer
    // than the last readable one: the estimate did not see them, and says so rather than read the gap as "not recorded".
    private IEnumerable<(string? Analyte, string Text)> Unreadable(PatientRecord record, DateTimeOffset at)
    {
        if (PatientReadings.ObservationsUnavailable(record) is { } unavailable)
        {
            yield return (null, unavailable);
        }

        foreach (var analyte in record.Unread.Select(f => f.Subject).Distinct(StringComparer.Ordinal))
        {
            if (_wording.AnalyteTitle(analyte) is { } title && PatientReadings.NewerUnreadable(record, at, record.LatestOf(analyte, at)?.At, analyte, title) is { } unread)
            {
                yield return (analyte, unread);
            }
        }
    }

    // The newest measurement on or before the date: what the estimate's data is as of.
    private static DateTimeOffset? LastInput(PatientRecord record, DateTimeOffset at) =>
        record.Measurements.Keys.Select(analyte => record.LatestOf(analyte, at)?.At).Max();

    /// <summary>Many patients at once, in parallel (each thread with its own engine), in the order given.</summary>
    public IReadOnlyList<RiskPrediction?> Predict(IReadOnlyList<(PatientRecord Record, DateTimeOffset At)> patients) =>
        [.. patients.AsParallel().AsOrdered().Select(p => Predict(p.Record, p.At))];

    public void Dispose()
    {
        foreach (var engine in _engines.Values)
        {
            engine.Dispose();
        }

        _engines.Dispose();
    }

    private IDataView Empty() => _ml.Data.LoadFromEnumerable(Array.Empty<ModelRow>(), ModelRow.Schema(_featurizer.Width));

    private sealed class ContributionRow
    {
        public float Score { get; set; }

        public float[] FeatureContributions { get; set; } = [];
    }
}
