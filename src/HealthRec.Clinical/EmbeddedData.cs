using System.Reflection;

namespace HealthRec.Clinical;

/// <summary>
/// Data files kept beside the code and embedded in its assembly (coefficient tables, the synthetic cohort's codes, the
/// regulation's attribute lists, the published CodeSystems): read once, by resource name, and refused loudly when
/// missing or malformed, since the build put them there.
/// </summary>
public static class EmbeddedData
{
    /// <summary>Web naming (camelCase, any case read) and no member the type does not declare: a misspelt key is an error, not a default.</summary>
    public static JsonSerializerOptions Strict { get; } = new(JsonSerializerDefaults.Web) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };

    /// <summary>The embedded JSON file <paramref name="name"/> of <paramref name="assembly"/> as a <typeparamref name="T"/> (by <see cref="Strict"/> unless told).</summary>
    public static T Read<T>(Assembly assembly, string name, JsonSerializerOptions? options = null)
    {
        using var stream = assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"{name} is not embedded in {assembly.GetName().Name}.");
        return JsonSerializer.Deserialize<T>(stream, options ?? Strict) ?? throw new InvalidOperationException($"{name} is JSON null.");
    }
}
