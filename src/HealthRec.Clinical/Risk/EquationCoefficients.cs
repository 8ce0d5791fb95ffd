namespace HealthRec.Clinical.Risk;

/// <summary>
/// The published equations' coefficients and model-card text, kept as data beside the code (<c>Risk/Coefficients/*.json</c>,
/// embedded in the assembly, so nothing is read from disk): each file names its source, holds its card's text and one
/// table per equation, by name.
/// </summary>
internal static class EquationCoefficients
{
    // Each file is parsed once: its equations are read into their types from the parsed tables, its card from the same parse.
    private static readonly ConcurrentDictionary<string, Table<JsonElement>> Files = new(StringComparer.Ordinal);

    /// <summary>The tables of one file by equation name, each read into <typeparamref name="T"/> (a term a table lacks takes the record's default, zero).</summary>
    public static IReadOnlyDictionary<string, T> Load<T>(string file) =>
        Read(file).Equations.ToDictionary(e => e.Key, e => e.Value.Deserialize<T>(EmbeddedData.Strict)
            ?? throw new InvalidOperationException($"{file}: equation {e.Key} is JSON null."), StringComparer.Ordinal);

    /// <summary>What the equation's model card says of it beyond its source, population and validation (the file's <c>card</c>).</summary>
    public static ReferenceCardText Card(string file) =>
        Read(file).Card ?? throw new InvalidOperationException($"{file} has no card text.");

    private static Table<JsonElement> Read(string file) => Files.GetOrAdd(file, f =>
        EmbeddedData.Read<Table<JsonElement>>(typeof(EquationCoefficients).Assembly, $"HealthRec.Clinical.Risk.Coefficients.{f}"));

    // One file: its source, the model card's text, and the equations' coefficients by name.
    private sealed record Table<T>(string Source, ReferenceCardText? Card, Dictionary<string, T> Equations);
}
