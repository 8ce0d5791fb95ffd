namespace HealthRec.Server.Ingestion;

/// <summary>RFC 4180 quoting for the CSV files HealthRec writes: a field with a comma, quote or line break is quoted.</summary>
internal static class CsvText
{
    public static string Field(string value) =>
        value.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;

    public static string Line(params IEnumerable<string> fields) => string.Join(',', fields.Select(Field));
}
