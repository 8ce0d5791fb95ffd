using System.Text.Json;

namespace HealthRec.Clinical.Risk;

/// <summary>
/// The published equations' coefficients, kept as data beside the code (<c>Risk/Coefficients/*.json</c>, embedded in the
/// assembly, so nothing is read from disk): each file names its source and holds one table per equation, by name.
/// </summary>
internal static class EquationCoefficients
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow };

    /// <summary>The tables of one file by equation name, each read into <typeparamref name="T"/> (a term a table lacks takes the record's default, zero).</summary>
    public static IReadOnlyDictionary<string, T> Load<T>(string file)
    {
        var name = $"HealthRec.Clinical.Risk.Coefficients.{file}";
        using var stream = typeof(EquationCoefficients).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The coefficient table {name} is not embedded in the assembly.");
        var table = JsonSerializer.Deserialize<Table<T>>(stream, Json) ?? throw new InvalidOperationException($"{name} is JSON null.");
        return table.Equations;
    }

    private sealed record Table<T>(string Source, Dictionary<string, T> Equations);
}
