namespace HealthRec.Clinical.Knowledge;

/// <summary>A patient at a date, as rules see it: the feature vector (computed once) and the record's dated facts.</summary>
public sealed class RecordRuleContext : IRuleContext
{
    private readonly PatientRecord _record;
    private readonly DateTimeOffset _at;
    private readonly float[] _features;
    private readonly FrozenDictionary<string, int> _columns;

    public RecordRuleContext(PatientRecord record, DateTimeOffset at, Featurizer featurizer)
        : this(record, at, featurizer.Featurize(record, at), featurizer.Columns)
    {
    }

    public RecordRuleContext(PatientRecord record, DateTimeOffset at, float[] features, FrozenDictionary<string, int> columns)
    {
        _record = record;
        _at = at;
        _features = features;
        _columns = columns;
    }

    public PatientRecord Record => _record;

    public DateTimeOffset At => _at;

    public double Feature(string name) =>
        _columns.TryGetValue(name, out var i) ? _features[i] : DerivedValues.Names.Contains(name) ? DerivedValues.Compute(name, Column, _record, _at) : double.NaN;

    private double Column(string name) => _columns.TryGetValue(name, out var i) ? _features[i] : double.NaN;

    public bool Has(string group) => _record.HasActiveCondition(group, _at);

    public bool Ever(string group) => _record.HadCondition(group, _at);

    public bool Taking(string medicationClass) => _record.Takes(medicationClass, _at);

    public bool Female => _record.Sex == Sex.Female;
}
