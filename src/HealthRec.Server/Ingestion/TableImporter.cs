using CsvHelper;
using CsvHelper.Configuration;
using Hl7.Fhir.Model;
using DataType = Hl7.Fhir.Model.DataType;

namespace HealthRec.Server.Ingestion;

/// <summary>A cell or row the import could not use: the table's line (the header is line 1), the column, and why.</summary>
public sealed record ImportProblem(long Line, string? Column, string Message)
{
    public override string ToString() => Column is null ? $"line {Line}: {Message}" : $"line {Line}, column '{Column}': {Message}";
}

/// <summary>What an import wrote and what it could not use.</summary>
public sealed record ImportResult(long Rows, long SkippedRows, int Patients, long Observations, int Positives, int Negatives, IReadOnlyList<ImportProblem> Problems);

/// <summary>
/// A CSV table to FHIR Bulk Data NDJSON (<c>Patient.ndjson</c>, <c>Observation.ndjson</c>, <c>Condition.ndjson</c>) as a
/// <see cref="TableMapping"/> describes it, so a site that starts from a spreadsheet reaches the same features and
/// outcomes as one that starts from an EHR export. Nothing is guessed: a cell that is not what the mapping says
/// (a number, a date, a listed spelling) is reported by line and column and left out; a row whose patient, date or
/// label cannot be read is left out whole (an unreadable label must not become a negative). An empty cell is a value
/// not recorded, not a problem.
/// </summary>
public static partial class TableImporter
{
    public static readonly string[] OutputFiles = ["Patient.ndjson", "Observation.ndjson", "Condition.ndjson"];

    private sealed class PatientState(string id, long line)
    {
        public string Id { get; } = id;

        public long Line { get; } = line;

        public string? BirthDate { get; set; }

        public AdministrativeGender? Sex { get; set; }

        public bool? Positive { get; set; }

        public DateOnly? EventOn { get; set; }
    }

    public static async Task<ImportResult> ImportAsync(TextReader table, TableMapping mapping, string outFolder, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(outFolder);
        var problems = new List<ImportProblem>();
        var patients = new Dictionary<string, PatientState>(StringComparer.Ordinal);
        long rows = 0, skipped = 0, observations = 0;
        var config = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            Delimiter = mapping.Delimiter,
            BadDataFound = null,
            MissingFieldFound = null,
            TrimOptions = TrimOptions.Trim,
        };
        await using (var observationFile = new StreamWriter(Path.Combine(outFolder, "Observation.ndjson")))
        using (var csv = new CsvReader(table, config))
        {
            if (!await csv.ReadAsync() || !csv.ReadHeader() || csv.HeaderRecord is not { Length: > 0 } header)
            {
                return new ImportResult(0, 0, 0, 0, 0, 0, [new ImportProblem(1, null, "the table has no header line")]);
            }

            var columns = header.Select((name, i) => (name, i)).GroupBy(c => c.name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().i, StringComparer.Ordinal);
            var missing = MappedColumns(mapping).Where(c => !columns.ContainsKey(c)).Distinct(StringComparer.Ordinal).ToList();
            if (missing.Count > 0)
            {
                return new ImportResult(0, 0, 0, 0, 0, 0,
                    [.. missing.Select(c => new ImportProblem(1, c, $"the mapping names this column, which the header does not have (it has: {string.Join(", ", header.Take(12))}{(header.Length > 12 ? ", ..." : "")})"))]);
            }

            while (await csv.ReadAsync())
            {
                cancellationToken.ThrowIfCancellationRequested();
                rows++;
                var line = csv.Parser.Row;
                string Cell(string column) => csv.Parser.Count > columns[column] ? csv.Parser[columns[column]] ?? "" : "";
                if (csv.Parser.Count != header.Length)
                {
                    problems.Add(new ImportProblem(line, null, $"{csv.Parser.Count} fields where the header has {header.Length}; row left out"));
                    skipped++;
                    continue;
                }

                if (ReadRow(mapping, Cell, line, patients, problems) is not var (patient, date))
                {
                    skipped++;
                    continue;
                }

                foreach (var observation in Observations(mapping, Cell, line, patient.Id, date, problems))
                {
                    observation.Id = $"o{++observations}";
                    await observationFile.WriteLineAsync(FhirJson.Serialize(observation));
                }
            }
        }

        var (positives, negatives) = await WritePatientsAsync(mapping, patients.Values, outFolder);
        return new ImportResult(rows, skipped, patients.Count, observations, positives, negatives, problems);
    }

    // The columns the mapping reads: each must be in the header.
    private static IEnumerable<string> MappedColumns(TableMapping m) =>
        new[] { m.Patient.Id, m.Patient.BirthDate, m.Patient.Age, m.Patient.Sex?.Column, m.Date.Column, m.Label?.Column, m.Label?.Date,
            m.Measurement?.Code, m.Measurement?.Value, m.Measurement?.Unit }
            .OfType<string>().Concat(m.Measurements.Select(c => c.Column));

    // The row's patient (created or found) and date; null, with the problem reported, when either cannot be read.
    private static (PatientState Patient, DateOnly Date)? ReadRow(TableMapping mapping, Func<string, string> cell, long line,
        Dictionary<string, PatientState> patients, List<ImportProblem> problems)
    {
        var date = mapping.Date.Value is { } constant ? DateOnly.ParseExact(constant, "yyyy-MM-dd", CultureInfo.InvariantCulture) : (DateOnly?)null;
        if (mapping.Date.Column is { } dateColumn && (date = ParseDate(cell(dateColumn))) is null)
        {
            problems.Add(new ImportProblem(line, dateColumn, $"'{cell(dateColumn)}' is not a date (YYYY-MM-DD); row left out"));
            return null;
        }

        var id = mapping.Patient.Id is { } idColumn ? cell(idColumn) : $"row-{line}";
        if (!FhirId().IsMatch(id))
        {
            problems.Add(new ImportProblem(line, mapping.Patient.Id, $"'{id}' is not a FHIR id (1–64 letters, digits, '-' or '.'); row left out"));
            return null;
        }

        string? birth = null;
        if (mapping.Patient.BirthDate is { } birthColumn && cell(birthColumn) is { Length: > 0 } birthText)
        {
            birth = BirthDate().IsMatch(birthText) ? birthText : null;
            if (birth is null)
            {
                problems.Add(new ImportProblem(line, birthColumn, $"'{birthText}' is not a birth date (YYYY, YYYY-MM or YYYY-MM-DD); left out"));
            }
        }
        else if (mapping.Patient.Age is { } ageColumn && cell(ageColumn) is { Length: > 0 } ageText)
        {
            if (mapping.TryNumber(ageText, out var age) && age is >= 0 and < 130)
            {
                birth = (date!.Value.Year - (int)Math.Floor(age)).ToString("0000", CultureInfo.InvariantCulture);
            }
            else
            {
                problems.Add(new ImportProblem(line, ageColumn, $"'{ageText}' is not an age in years; left out"));
            }
        }

        AdministrativeGender? sex = null;
        if (mapping.Patient.Sex is { } sexMapping && cell(sexMapping.Column) is { Length: > 0 } sexText)
        {
            sex = sexMapping.Female.Contains(sexText, StringComparer.Ordinal) ? AdministrativeGender.Female
                : sexMapping.Male.Contains(sexText, StringComparer.Ordinal) ? AdministrativeGender.Male
                : sexMapping.Other.Contains(sexText, StringComparer.Ordinal) ? AdministrativeGender.Other
                : null;
            if (sex is null)
            {
                problems.Add(new ImportProblem(line, sexMapping.Column, $"'{sexText}' is none of the mapping's female, male or other spellings; left out"));
            }
        }

        bool? positive = null;
        DateOnly? eventOn = null;
        if (mapping.Label is { } label && cell(label.Column) is var labelText && labelText.Length > 0)
        {
            positive = label.Positive.Contains(labelText, StringComparer.Ordinal) ? true : label.Negative.Contains(labelText, StringComparer.Ordinal) ? false : null;
            if (positive is null)
            {
                problems.Add(new ImportProblem(line, label.Column, $"'{labelText}' is neither a positive ({string.Join(", ", label.Positive)}) nor a negative ({string.Join(", ", label.Negative)}) value; row left out"));
                return null;
            }

            eventOn = date!.Value.AddDays(label.AfterDays);
            if (positive == true && label.Date is { } eventColumn && cell(eventColumn) is { Length: > 0 } eventText)
            {
                if ((eventOn = ParseDate(eventText)) is null)
                {
                    problems.Add(new ImportProblem(line, eventColumn, $"'{eventText}' is not a date (YYYY-MM-DD); row left out"));
                    return null;
                }
            }
        }

        if (!patients.TryGetValue(id, out var patient))
        {
            patients[id] = patient = new PatientState(id, line);
        }
        else if (mapping.Layout == TableLayout.Patient)
        {
            problems.Add(new ImportProblem(line, mapping.Patient.Id, $"patient '{id}' already has a row (line {patient.Line}) in a patient-per-row table; row left out"));
            return null;
        }

        patient.BirthDate = Agree(patient.BirthDate, birth, line, mapping.Patient.BirthDate ?? mapping.Patient.Age, problems);
        patient.Sex = Agree(patient.Sex, sex, line, mapping.Patient.Sex?.Column, problems);
        if (positive is not null)
        {
            if (patient.Positive is { } before && before != positive)
            {
                problems.Add(new ImportProblem(line, mapping.Label!.Column, $"patient '{id}' is labelled differently on line {patient.Line}; the positive label is kept"));
            }

            patient.Positive = patient.Positive == true || positive == true;
            patient.EventOn = positive == true ? Earliest(patient.EventOn, eventOn) : patient.EventOn ?? eventOn;
        }

        return (patient, date!.Value);
    }

    private static DateOnly? Earliest(DateOnly? a, DateOnly? b) => a is null ? b : b is null ? a : a < b ? a : b;

    // A value seen again for the same patient must agree with the first; a conflict is reported and the first kept.
    private static T? Agree<T>(T? first, T? next, long line, string? column, List<ImportProblem> problems)
    {
        if (first is null)
        {
            return next;
        }

        if (next is not null && !EqualityComparer<T>.Default.Equals(first, next))
        {
            problems.Add(new ImportProblem(line, column, $"'{next}' disagrees with the patient's earlier '{first}'; the earlier is kept"));
        }

        return first;
    }

    private static IEnumerable<Observation> Observations(TableMapping mapping, Func<string, string> cell, long line, string patientId, DateOnly date,
        List<ImportProblem> problems)
    {
        var columns = new List<(MeasurementColumn Column, string Text)>();
        if (mapping.Layout == TableLayout.Patient)
        {
            columns.AddRange(mapping.Measurements.Select(m => (m, cell(m.Column))));
        }
        else if (mapping.Measurement is { } rows && cell(rows.Code) is { Length: > 0 } code)
        {
            var column = new MeasurementColumn { Column = rows.Value, Code = code, System = rows.System ?? mapping.System, Unit = rows.Unit is { } unit ? cell(unit) : null };
            columns.Add((column, cell(rows.Value)));
        }

        foreach (var (column, text) in columns)
        {
            if (text.Length == 0)
            {
                continue;
            }

            if (Value(column, text, mapping) is not { } value)
            {
                problems.Add(new ImportProblem(line, column.Column, Why(column, text, mapping.DecimalSeparator)));
                continue;
            }

            yield return new Observation
            {
                Status = ObservationStatus.Final,
                Code = new CodeableConcept(column.System ?? mapping.System, column.Code, column.Display, null),
                Subject = new ResourceReference($"Patient/{patientId}"),
                Effective = new FhirDateTime(date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
                Value = value,
            };
        }
    }

    private static DataType? Value(MeasurementColumn column, string text, TableMapping mapping)
    {
        var system = mapping.System;
        switch (column.Type)
        {
            case CellType.Quantity when mapping.TryNumber(text, out var number) && !string.IsNullOrWhiteSpace(column.Unit):
                return new Quantity { Value = number, Unit = column.Unit, System = CodeSystems.Ucum, Code = column.Unit };
            case CellType.WholeNumber when int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var whole):
                return new Integer(whole);
            case CellType.Boolean when column.True.Contains(text, StringComparer.Ordinal):
                return new FhirBoolean(true);
            case CellType.Boolean when column.False.Contains(text, StringComparer.Ordinal):
                return new FhirBoolean(false);
            case CellType.Code when column.Values is null || column.Values.ContainsKey(text):
                return new CodeableConcept(column.ValueSystem ?? system, column.Values?[text] ?? text);
            default:
                return null;
        }
    }

    private static string Why(MeasurementColumn column, string text, string separator) => column.Type switch
    {
        CellType.Quantity when string.IsNullOrWhiteSpace(column.Unit) => $"'{text}' has no unit (the unit column is empty); left out, not guessed",
        CellType.Quantity when separator == "." && text.Contains(',', StringComparison.Ordinal) =>
            $"'{text}' is not a number with the decimal separator '.'; left out (a table that writes decimals with a comma says \"decimalSeparator\": \",\")",
        CellType.Quantity => $"'{text}' is not a number{(separator == "," ? " with the decimal separator ','" : "")}; left out",
        CellType.WholeNumber => $"'{text}' is not a whole number; left out",
        CellType.Boolean => $"'{text}' is neither a true ({string.Join(", ", column.True)}) nor a false ({string.Join(", ", column.False)}) spelling; left out",
        _ => $"'{text}' is not one of the mapped values ({string.Join(", ", column.Values?.Keys ?? [])}); left out",
    };

    private static async Task<(int Positives, int Negatives)> WritePatientsAsync(TableMapping mapping, IEnumerable<PatientState> patients, string outFolder)
    {
        int positives = 0, negatives = 0, conditions = 0;
        var conditionFile = Path.Combine(outFolder, "Condition.ndjson");
        await using var patientWriter = new StreamWriter(Path.Combine(outFolder, "Patient.ndjson"));
        await using var conditionWriter = new StreamWriter(conditionFile);
        foreach (var state in patients)
        {
            var patient = new Patient { Id = state.Id, Gender = state.Sex, BirthDate = state.BirthDate };
            if (state.Positive == true)
            {
                positives++;
                var on = new FhirDateTime(state.EventOn!.Value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                if (mapping.Label!.Event.Death)
                {
                    patient.Deceased = on;
                }
                else
                {
                    var condition = new Condition
                    {
                        Id = $"c{++conditions}",
                        Code = new CodeableConcept(mapping.Label.Event.System ?? mapping.System, mapping.Label.Event.Code, mapping.Label.Event.Display, null),
                        Subject = new ResourceReference($"Patient/{state.Id}"),
                        Onset = on,
                        ClinicalStatus = new CodeableConcept("http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
                        VerificationStatus = new CodeableConcept("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed"),
                    };
                    await conditionWriter.WriteLineAsync(FhirJson.Serialize(condition));
                }
            }
            else if (state.Positive == false)
            {
                negatives++;
            }

            await patientWriter.WriteLineAsync(FhirJson.Serialize(patient));
        }

        return (positives, negatives);
    }

    private static DateOnly? ParseDate(string text) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day) ? day
        : DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) && text.Length >= 10 && text[4] == '-'
            ? DateOnly.FromDateTime(at.UtcDateTime) : null;

    [GeneratedRegex("^[A-Za-z0-9\\-.]{1,64}$")]
    private static partial Regex FhirId();

    [GeneratedRegex("^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$")]
    private static partial Regex BirthDate();
}
