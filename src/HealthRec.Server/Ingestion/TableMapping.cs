namespace HealthRec.Server.Ingestion;

/// <summary>How a table is laid out: one row per patient, or one row per measurement (many rows per patient).</summary>
[JsonConverter(typeof(SnakeCaseEnumConverter<TableLayout>))]
public enum TableLayout
{
    Patient,
    Measurement,
}

/// <summary>What a measurement column holds, and so which FHIR value it becomes.</summary>
[JsonConverter(typeof(SnakeCaseEnumConverter<CellType>))]
public enum CellType
{
    /// <summary>A number with a UCUM unit (<c>valueQuantity</c>); the mapping must name the unit.</summary>
    Quantity,

    /// <summary>A whole number without a unit (<c>valueInteger</c>): a count, a score.</summary>
    [JsonStringEnumMemberName("integer")] WholeNumber,

    /// <summary>Yes or no (<c>valueBoolean</c>): the cell is one of the <c>true</c> or <c>false</c> spellings.</summary>
    Boolean,

    /// <summary>A category (<c>valueCodeableConcept</c>): the cell, renamed by <c>values</c> when given, is a code of <c>valueSystem</c>.</summary>
    Code,
}

/// <summary>A column (or, with <see cref="Value"/>, a constant) that gives a date.</summary>
public sealed record DateSource
{
    public string? Column { get; init; }

    /// <summary>One date for every row (YYYY-MM-DD): a research table's visit date, when it has none of its own.</summary>
    public string? Value { get; init; }
}

public sealed record SexMapping
{
    public required string Column { get; init; }

    public ImmutableArray<string> Female { get; init; } = [];

    public ImmutableArray<string> Male { get; init; } = [];

    public ImmutableArray<string> Other { get; init; } = [];
}

public sealed record PatientMapping
{
    /// <summary>The column holding the patient's id (a FHIR id); without it, a patient-per-row table numbers rows (<c>row-2</c>, ...).</summary>
    public string? Id { get; init; }

    /// <summary>A birth date column (YYYY, YYYY-MM or YYYY-MM-DD).</summary>
    public string? BirthDate { get; init; }

    /// <summary>An age-in-years column: written as the birth year (FHIR allows year precision), so ages read back within a year.</summary>
    public string? Age { get; init; }

    public SexMapping? Sex { get; init; }
}

/// <summary>One measurement column of a patient-per-row table: it becomes an Observation coded <c>system|code</c>.</summary>
public sealed record MeasurementColumn
{
    public required string Column { get; init; }

    public required string Code { get; init; }

    /// <summary>The code's system; the mapping's <c>system</c> when not given.</summary>
    public string? System { get; init; }

    public string? Display { get; init; }

    public CellType Type { get; init; } = CellType.Quantity;

    /// <summary>The UCUM unit of a quantity (<c>1</c> for a ratio or a unitless number).</summary>
    public string? Unit { get; init; }

    /// <summary>For <c>boolean</c>: the cell spellings of yes and no.</summary>
    public ImmutableArray<string> True { get; init; } = [];

    public ImmutableArray<string> False { get; init; } = [];

    /// <summary>For <c>code</c>: the system of the value's codes; the mapping's <c>system</c> when not given.</summary>
    public string? ValueSystem { get; init; }

    /// <summary>For <c>code</c>: cell text to code; a cell not listed is a bad value. Without it, the cell is the code.</summary>
    public ImmutableDictionary<string, string>? Values { get; init; }
}

/// <summary>A measurement-per-row table's columns: the code, the value and its unit.</summary>
public sealed record MeasurementRows
{
    public required string Code { get; init; }

    public required string Value { get; init; }

    public string? Unit { get; init; }

    /// <summary>The codes' system; the mapping's <c>system</c> when not given.</summary>
    public string? System { get; init; }
}

/// <summary>The event a label's positive rows record.</summary>
public sealed record LabelEvent
{
    /// <summary>A Condition with this code (<c>system</c> defaults to the mapping's).</summary>
    public string? Code { get; init; }

    public string? System { get; init; }

    public string? Display { get; init; }

    /// <summary>Or death: the Patient's <c>deceasedDateTime</c>.</summary>
    public bool Death { get; init; }
}

/// <summary>
/// A label column: rows whose cell is one of <see cref="Positive"/> record the event <see cref="AfterDays"/> after the
/// row's date (or at <see cref="Date"/>), rows in <see cref="Negative"/> record nothing, and any other cell is a bad row.
/// </summary>
public sealed record LabelMapping
{
    public required string Column { get; init; }

    public ImmutableArray<string> Positive { get; init; } = [];

    public ImmutableArray<string> Negative { get; init; } = [];

    public required LabelEvent Event { get; init; }

    public int AfterDays { get; init; } = 1;

    /// <summary>The event's own date column, when the table has one (an empty cell falls back to <see cref="AfterDays"/>).</summary>
    public string? Date { get; init; }
}

/// <summary>
/// How a CSV table becomes FHIR (<c>healthrec import --mapping MAP.json</c>): which column is the patient, the date,
/// each measurement (as a code of any system, with its unit) and the label. Parsed with unknown members refused;
/// <see cref="Check"/> names each problem by its path in the file.
/// </summary>
public sealed record TableMapping
{
    public TableLayout Layout { get; init; } = TableLayout.Patient;

    /// <summary>The field separator (default a comma).</summary>
    public string Delimiter { get; init; } = ",";

    /// <summary>
    /// The decimal separator of the table's numbers: <c>.</c> (default) or <c>,</c> (as many European exports write
    /// them). Declared, never guessed; with <c>,</c> a number holding a <c>.</c> is refused (a thousands separator?).
    /// </summary>
    public string DecimalSeparator { get; init; } = ".";

    /// <summary>A cell as a number under <see cref="DecimalSeparator"/>; false when it is not one.</summary>
    public bool TryNumber(string text, out decimal number)
    {
        number = 0;
        return (DecimalSeparator == "." || !text.Contains('.', StringComparison.Ordinal))
            && decimal.TryParse(DecimalSeparator == "," ? text.Replace(',', '.') : text, NumberStyles.Float, CultureInfo.InvariantCulture, out number);
    }

    /// <summary>The default code system of measurements and the label's event (e.g. <c>urn:site:lab</c>).</summary>
    public string? System { get; init; }

    public PatientMapping Patient { get; init; } = new();

    public required DateSource Date { get; init; }

    public ImmutableArray<MeasurementColumn> Measurements { get; init; } = [];

    public MeasurementRows? Measurement { get; init; }

    public LabelMapping? Label { get; init; }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>The mapping, or the problems that stop it (each prefixed with <paramref name="source"/> and its path).</summary>
    public static (TableMapping? Mapping, IReadOnlyList<string> Problems) Parse(string json, string source)
    {
        TableMapping? mapping;
        try
        {
            mapping = JsonSerializer.Deserialize<TableMapping>(json, Json);
        }
        catch (JsonException ex)
        {
            return (null, [$"{source}: {(ex.Path is { Length: > 0 } path ? path + ": " : "")}{ex.Message.Split(" Path:", 2)[0]}"]);
        }

        if (mapping is null)
        {
            return (null, [$"{source}: the mapping is JSON null"]);
        }

        var problems = mapping.Check().Select(p => $"{source}: {p}").ToList();
        return (problems.Count == 0 ? mapping : null, problems);
    }

    private List<string> Check()
    {
        var problems = new List<string>();
        if (Delimiter.Length != 1)
        {
            problems.Add("$.delimiter: one character");
        }

        if (DecimalSeparator is not ("." or ","))
        {
            problems.Add("$.decimalSeparator: '.' or ','");
        }
        else if (DecimalSeparator == Delimiter)
        {
            problems.Add("$.decimalSeparator: the same character as the delimiter; give another delimiter (e.g. ';')");
        }

        if ((Date.Column is null) == (Date.Value is null) || (Date.Value is { } value && !DateOnly.TryParseExact(value, "yyyy-MM-dd", out _)))
        {
            problems.Add("$.date: give either column or value (YYYY-MM-DD)");
        }

        if (Patient.BirthDate is not null && Patient.Age is not null)
        {
            problems.Add("$.patient: give birthDate or age, not both");
        }

        if (Layout == TableLayout.Measurement)
        {
            if (Patient.Id is null)
            {
                problems.Add("$.patient.id: a measurement-per-row table needs the patient id column");
            }

            if (Measurement is null)
            {
                problems.Add("$.measurement: a measurement-per-row table needs its code, value and unit columns");
            }
            else if (Measurement.System is null && System is null)
            {
                problems.Add("$.measurement.system: give the codes' system (or the mapping's system)");
            }
        }
        else if (Measurement is not null)
        {
            problems.Add("$.measurement: only for \"layout\": \"measurement\" (a patient-per-row table lists measurements)");
        }

        for (var i = 0; i < Measurements.Length; i++)
        {
            var m = Measurements[i];
            var path = $"$.measurements[{i}]";
            if ((m.System ?? System) is null)
            {
                problems.Add($"{path}.system: give the code's system (or the mapping's system)");
            }

            switch (m.Type)
            {
                case CellType.Quantity when string.IsNullOrWhiteSpace(m.Unit):
                    problems.Add($"{path}.unit: a quantity needs its UCUM unit (\"1\" for a unitless number); HealthRec does not guess units");
                    break;
                case CellType.Boolean when m.True.IsEmpty || m.False.IsEmpty:
                    problems.Add($"{path}: a boolean needs its true and false spellings");
                    break;
                case CellType.Code when (m.ValueSystem ?? System) is null:
                    problems.Add($"{path}.valueSystem: give the system of the value's codes");
                    break;
            }
        }

        foreach (var duplicate in Measurements.GroupBy(m => m.Column, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            problems.Add($"$.measurements: column '{duplicate.Key}' is mapped twice");
        }

        if (Label is { } label)
        {
            if (label.Positive.IsEmpty || label.Negative.IsEmpty || label.Positive.Intersect(label.Negative, StringComparer.Ordinal).Any())
            {
                problems.Add("$.label: give positive and negative cell values, none in both");
            }

            if (label.Event.Death == (label.Event.Code is not null))
            {
                problems.Add("$.label.event: give a condition code or death: true");
            }
            else if (label.Event.Code is not null && (label.Event.System ?? System) is null)
            {
                problems.Add("$.label.event.system: give the condition code's system (or the mapping's system)");
            }

            if (label.AfterDays < 0)
            {
                problems.Add("$.label.afterDays: 0 or more");
            }
        }

        return problems;
    }
}
