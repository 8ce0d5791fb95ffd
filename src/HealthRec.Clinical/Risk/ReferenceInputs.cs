namespace HealthRec.Clinical.Risk;

/// <summary>
/// A reference equation's inputs as read from one record at one date, with what the reading found on the way: why no
/// estimate can be given, what the estimate lacks, which inputs were not used as reported, and the newest input used.
/// </summary>
internal sealed class ReferenceInputs
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;
    private readonly PatientRecord _record;
    private readonly DateTimeOffset _at;
    private readonly List<string> _read = [];
    private readonly List<string> _unreadable = [];
    private DateTimeOffset? _asOf;

    public ReferenceInputs(PatientRecord record, DateTimeOffset at)
    {
        (_record, _at) = (record, at);
        if (Safety.PatientReadings.ObservationsUnavailable(record) is { } unavailable)
        {
            LacksUnreadable(unavailable);
        }

        Age = record.AgeAt(at);
        if (Age is null || record.Sex is not (Sex.Female or Sex.Male))
        {
            NotGiven.Add(Age is not null ? "the equation reads sex, and the record's sex is neither female nor male"
                : record.BirthDate is { } birth ? string.Create(Ci, $"the date of birth ({birth:yyyy-MM-dd}) is after this date") : "no date of birth");
        }
    }

    public double? Age { get; }

    public bool Female => _record.Sex == Sex.Female;

    /// <summary>Why no estimate can be given (an input missing or too old); empty when one can.</summary>
    public List<string> NotGiven { get; } = [];

    /// <summary>What an estimate lacks: inputs stale, unreadable, or taken as a default.</summary>
    public List<string> Lacks { get; } = [];

    /// <summary>
    /// The last value of <paramref name="analyte"/> within twice its window (<see cref="ReferenceModel.WindowDays"/>),
    /// named as stale past its window; null, and when <paramref name="required"/> the reason in <see cref="NotGiven"/>,
    /// when there is none.
    /// </summary>
    public double? Input(string analyte, string title, bool required)
    {
        var window = ReferenceModel.WindowDays[analyte];
        var last = _record.LatestOf(analyte, _at, finalOnly: true);
        if (Safety.PatientReadings.NewerUnreadable(_record, _at, last?.At, analyte, title) is { } unread)
        {
            LacksUnreadable(unread);
        }

        if (last is not { } value || (_at - value.At).TotalDays > 2 * window)
        {
            if (required)
            {
                NotGiven.Add(last is { } old
                    ? string.Create(Ci, $"the last {title} is {(_at - old.At).TotalDays / 365.25:0.#} years old (needed within {2 * window / 365.25:0.#})")
                    : $"no {title} recorded");
            }

            return null;
        }

        if ((_at - value.At).TotalDays > window)
        {
            Lacks.Add(string.Create(Ci, $"{title} from {(_at - value.At).TotalDays / 365.25:0.#} years ago, older than the {window / 365.25:0.#}-year window"));
        }

        if (analyte == PatientRecordBuilder.Egfr && Safety.PatientReadings.HowRead(_record, value) is { Length: > 0 } how)
        {
            _read.Add(string.Create(Ci, $"eGFR {value.Value:0} mL/min/1.73 m²{how}"));
        }

        _asOf = _asOf is null || value.At > _asOf ? value.At : _asOf;
        return value.Value;
    }

    // An input the record holds but that could not be read: lacking, and named apart so that a low estimate made
    // without it is said (ReferenceEstimate.Unreadable).
    private void LacksUnreadable(string text)
    {
        Lacks.Add(text);
        _unreadable.Add(text);
    }

    /// <summary>Smoking not recorded, read as never smoked (for equations whose smoking term is ever or former smoking): said.</summary>
    public void NeverSmokedUnlessRecorded(double? smoking)
    {
        if (smoking is null)
        {
            Lacks.Add("smoking status not recorded: taken as never smoked (if the patient has smoked, the risk is higher)");
        }
    }

    /// <summary>Says that an input was used other than as reported (a value raised to the equation's lowest, say).</summary>
    public void UsedAs(string text) => _read.Add(text);

    /// <summary>No estimate: why (<see cref="NotGiven"/>, or the inputs outside the equation's ranges).</summary>
    public ReferenceEstimate NotEstimated(ReferenceModel model, IReadOnlyList<string>? outside = null) =>
        new(model, null, outside is { Count: > 0 } ? [.. outside.Select(o => $"{o}, the range the equation was developed for")] : NotGiven, [], Lacks, _asOf)
        {
            Read = _read,
            Unreadable = _unreadable,
        };

    public ReferenceEstimate Estimated(ReferenceModel model, double estimate, IReadOnlyList<ReferenceReason> reasons) =>
        new(model, estimate, [], reasons, Lacks, _asOf) { Read = _read, Unreadable = _unreadable };
}
