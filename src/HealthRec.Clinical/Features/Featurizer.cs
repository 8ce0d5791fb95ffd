namespace HealthRec.Clinical.Features;

/// <summary>
/// A feature schema compiled against the terminology: turns a patient record and an index date into a vector of
/// floats, NaN where a value is missing (LightGBM handles missing values natively). Only facts dated at or before
/// the index instant are read, so no feature can see the future. Thread-safe and allocation-free per call when
/// given a buffer.
/// </summary>
public sealed class Featurizer
{
    private const double DaysPerYear = 365.25;
    private readonly Compiled[] _features;

    private Featurizer(FeatureSchema schema, ClinicalTerminology terminology, Compiled[] features, ImmutableArray<string> names)
    {
        Schema = schema;
        Terminology = terminology;
        _features = features;
        Names = names;
        Columns = names.Select((n, i) => (n, i)).ToFrozenDictionary(x => x.n, x => x.i, StringComparer.Ordinal);
    }

    public FeatureSchema Schema { get; }

    /// <summary>The terminology the schema was compiled against: what its analytes, groups and classes mean.</summary>
    public ClinicalTerminology Terminology { get; }

    /// <summary>Column names, in vector order: each feature, followed by <c>name_missing</c> where it asks for one.</summary>
    public ImmutableArray<string> Names { get; }

    public int Width => Names.Length;

    /// <summary>Each column's position in the vector, by name.</summary>
    public FrozenDictionary<string, int> Columns { get; }

    /// <summary>Validates every feature against the terminology and reports all problems at once.</summary>
    public static Featurizer Compile(FeatureSchema schema, ClinicalTerminology terminology)
    {
        var problems = new List<string>();
        var analytes = terminology.Analytes.Select(a => a.Id).Concat(terminology.CodedAnalytes.Select(c => c.Id)).ToHashSet(StringComparer.Ordinal);
        var names = new List<string>();
        var compiled = new List<Compiled>();
        foreach (var feature in schema.Features)
        {
            var where = $"feature '{feature.Name}'";
            switch (feature.Kind)
            {
                case FeatureKind.Analyte when feature.Analyte is null || !analytes.Contains(feature.Analyte):
                    problems.Add($"{where}: unknown analyte '{feature.Analyte}'");
                    break;
                case FeatureKind.Analyte or FeatureKind.Encounters when feature.Aggregation is null || feature.WindowDays is not > 0:
                    problems.Add($"{where}: needs an aggregation and a positive windowDays");
                    break;
                case FeatureKind.Encounters or FeatureKind.Condition or FeatureKind.Medication or FeatureKind.Procedure
                    when feature.Aggregation is { } aggregation && (aggregation is not (Aggregation.Count or Aggregation.DaysSinceLast) || feature.WindowDays is not > 0):
                    problems.Add($"{where}: a {feature.Kind.ToString().ToLowerInvariant()} feature aggregates by count or days_since_last over a positive windowDays");
                    break;
                case FeatureKind.Encounters when feature.Group is { } group && !terminology.EncounterGroups.Contains(group):
                    problems.Add($"{where}: unknown encounter group '{group}' (a ValueSet with id encounter-{group} in the terminology folder)");
                    break;
                case FeatureKind.Procedure when feature.Group is null || !terminology.ProcedureGroups.Contains(feature.Group):
                    problems.Add($"{where}: unknown procedure group '{feature.Group}' (a ValueSet with id procedure-{feature.Group} in the terminology folder)");
                    break;
                case FeatureKind.Condition when feature.Group is null || !terminology.ConditionGroups.Contains(feature.Group):
                    problems.Add($"{where}: unknown condition group '{feature.Group}'");
                    break;
                case FeatureKind.Medication when feature.Class is null || !terminology.MedicationClasses.Contains(feature.Class):
                    problems.Add($"{where}: unknown medication class '{feature.Class}'");
                    break;
                case FeatureKind.Sex when !Enum.TryParse<Sex>(feature.Value, ignoreCase: true, out _):
                    problems.Add($"{where}: sex value '{feature.Value}' is not female, male or other");
                    break;
            }

            if (names.Contains(feature.Name, StringComparer.Ordinal))
            {
                problems.Add($"{where}: the name is used twice");
            }

            names.Add(feature.Name);
            var missingIndex = -1;
            if (feature.MissingIndicator)
            {
                names.Add(feature.Name + "_missing");
                missingIndex = names.Count - 1;
            }

            compiled.Add(new Compiled(
                feature,
                names.Count - (missingIndex >= 0 ? 2 : 1),
                missingIndex,
                TimeSpan.FromDays(feature.WindowDays ?? 0),
                feature.Kind == FeatureKind.Sex && Enum.TryParse<Sex>(feature.Value, ignoreCase: true, out var sex) ? sex : Sex.Unknown));
        }

        if (problems.Count > 0)
        {
            throw new TerminologyException($"Feature schema {schema.Id} {schema.Version} is invalid: " + string.Join("; ", problems));
        }

        return new Featurizer(schema, terminology, [.. compiled], [.. names]);
    }

    public float[] Featurize(PatientRecord record, DateTimeOffset indexAt)
    {
        var vector = new float[Width];
        Featurize(record, indexAt, vector);
        return vector;
    }

    public void Featurize(PatientRecord record, DateTimeOffset indexAt, Span<float> output)
    {
        if (output.Length < Width)
        {
            throw new ArgumentException($"The output span holds {output.Length} values; the schema needs {Width}.", nameof(output));
        }

        foreach (var feature in _features)
        {
            var value = Evaluate(feature, record, indexAt);
            output[feature.Index] = (float)value;
            if (feature.MissingIndex >= 0)
            {
                output[feature.MissingIndex] = double.IsNaN(value) ? 1f : 0f;
            }
        }
    }

    private static double Evaluate(Compiled feature, PatientRecord record, DateTimeOffset indexAt)
    {
        var definition = feature.Definition;
        switch (definition.Kind)
        {
            case FeatureKind.Age:
                return record.AgeAt(indexAt) ?? double.NaN;
            case FeatureKind.Sex:
                return record.Sex == Sex.Unknown ? double.NaN : record.Sex == feature.Sex ? 1 : 0;
            case FeatureKind.Condition when definition.Aggregation is { } aggregation:
                return InWindow(record.Conditions, feature, indexAt, aggregation, static (c, d) => c.Groups.Contains(d.Group!), static c => c.Onset);

            case FeatureKind.Condition:
                return AnyHolds(record.Conditions, definition, indexAt, static (c, d, at) =>
                    c.Groups.Contains(d.Group!) && (d.Ever ? c.Onset is { } onset && onset <= at : c.IsActiveAt(at)));
            case FeatureKind.Medication when definition.Aggregation is { } aggregation:
                return InWindow(record.Medications, feature, indexAt, aggregation, static (m, d) => m.Classes.Contains(d.Class!), static m => m.Start);

            case FeatureKind.Medication:
                return AnyHolds(record.Medications, definition, indexAt, static (m, d, at) => m.Classes.Contains(d.Class!) && m.IsActiveAt(at));
            case FeatureKind.Procedure when definition.Aggregation is { } aggregation:
                return InWindow(record.Procedures, feature, indexAt, aggregation, static (p, d) => p.Groups.Contains(d.Group!), static p => p.At);

            case FeatureKind.Procedure:
                return AnyHolds(record.Procedures, definition, indexAt, static (p, d, at) => p.Groups.Contains(d.Group!) && p.At <= at);
            case FeatureKind.Encounters:
                // On every call's path (the default schema counts encounters): static lambdas, no allocation.
                return InWindow(record.Encounters, feature, indexAt, definition.Aggregation ?? Aggregation.Count,
                    static (e, d) => (d.EncounterClasses is not { IsDefaultOrEmpty: false } classes || (e.Class is { } c && classes.Contains(c)))
                        && (d.Group is not { } group || e.Groups.Contains(group)),
                    static e => e.Start);
            default:
                return Aggregate(record.MeasurementsOf(definition.Analyte!).AsSpan(), definition.Aggregation!.Value, indexAt, feature.Window);
        }
    }

    // Dated facts in the window (from, indexAt]: how many, or the days since the last (NaN when none).
    // 1 when one of a record's entries holds for the feature at the index date (present, active, or ever), else 0.
    private static double AnyHolds<T>(ImmutableArray<T> entries, FeatureDefinition definition, DateTimeOffset indexAt,
        Func<T, FeatureDefinition, DateTimeOffset, bool> holds)
    {
        foreach (var entry in entries)
        {
            if (holds(entry, definition, indexAt))
            {
                return 1;
            }
        }

        return 0;
    }

    // The dates of a record's entries that the feature counts (its group, class or encounter classes), in its window,
    // aggregated. Static lambdas and the definition passed in: nothing allocated on the call's path.
    private static double InWindow<T>(ImmutableArray<T> entries, Compiled feature, DateTimeOffset indexAt, Aggregation aggregation,
        Func<T, FeatureDefinition, bool> isIn, Func<T, DateTimeOffset?> at)
    {
        var events = new EventWindow(indexAt, feature.Window);
        foreach (var entry in entries)
        {
            if (isIn(entry, feature.Definition))
            {
                events.Add(at(entry));
            }
        }

        return events.Result(aggregation);
    }

    private struct EventWindow(DateTimeOffset indexAt, TimeSpan window)
    {
        private readonly DateTimeOffset _from = indexAt - window;
        private int _count;
        private DateTimeOffset? _last;

        public void Add(DateTimeOffset? date)
        {
            if (date is { } at && at > _from && at <= indexAt)
            {
                _count++;
                _last = _last is null || at > _last ? at : _last;
            }
        }

        public readonly double Result(Aggregation aggregation) =>
            aggregation == Aggregation.DaysSinceLast ? _last is { } l ? (indexAt - l).TotalDays : double.NaN : _count;
    }

    // Measurements are ordered by time: binary search gives the window (from, indexAt].
    private static double Aggregate(ReadOnlySpan<Measurement> all, Aggregation aggregation, DateTimeOffset indexAt, TimeSpan window)
    {
        var values = InWindow(all, indexAt, window);
        if (values.IsEmpty)
        {
            return aggregation == Aggregation.Count ? 0 : double.NaN;
        }

        switch (aggregation)
        {
            case Aggregation.Last:
                return values[^1].Value;
            case Aggregation.Count:
                return values.Length;
            case Aggregation.DaysSinceLast:
                return (indexAt - values[^1].At).TotalDays;
            case Aggregation.Min:
            case Aggregation.Max:
                var extreme = values[0].Value;
                foreach (var m in values)
                {
                    extreme = aggregation == Aggregation.Min ? Math.Min(extreme, m.Value) : Math.Max(extreme, m.Value);
                }

                return extreme;
            case Aggregation.Mean:
                var sum = 0.0;
                foreach (var m in values)
                {
                    sum += m.Value;
                }

                return sum / values.Length;
            case Aggregation.SlopePerYear:
                return Slope(values, indexAt);
            default:
                throw new InvalidOperationException($"Aggregation {aggregation} is not implemented.");
        }
    }

    /// <summary>The measurements (ordered by time) in the window (indexAt − window, indexAt], found by binary search.</summary>
    internal static ReadOnlySpan<Measurement> InWindow(ReadOnlySpan<Measurement> all, DateTimeOffset indexAt, TimeSpan window)
    {
        var end = UpperBound(all, indexAt);
        return all[UpperBound(all[..end], indexAt - window)..end];
    }

    // Least-squares slope of value against time in years; needs two distinct times.
    internal static double Slope(ReadOnlySpan<Measurement> values, DateTimeOffset origin)
    {
        if (values.Length < 2)
        {
            return double.NaN;
        }

        double meanT = 0, meanV = 0;
        foreach (var m in values)
        {
            meanT += (m.At - origin).TotalDays / DaysPerYear;
            meanV += m.Value;
        }

        meanT /= values.Length;
        meanV /= values.Length;
        double covariance = 0, variance = 0;
        foreach (var m in values)
        {
            var t = ((m.At - origin).TotalDays / DaysPerYear) - meanT;
            covariance += t * (m.Value - meanV);
            variance += t * t;
        }

        return variance < 1e-12 ? double.NaN : covariance / variance;
    }

    // First position whose time is after the given instant.
    private static int UpperBound(ReadOnlySpan<Measurement> values, DateTimeOffset instant)
    {
        int low = 0, high = values.Length;
        while (low < high)
        {
            var mid = (low + high) >>> 1;
            if (values[mid].At <= instant)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }

        return low;
    }

    private sealed record Compiled(FeatureDefinition Definition, int Index, int MissingIndex, TimeSpan Window, Sex Sex);
}
