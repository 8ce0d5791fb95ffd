using Hl7.Fhir.Model;

namespace HealthRec.Server.Hosting;

/// <summary>
/// HealthRec's own CodeSystems as published in <c>fhir-profiles/</c>, embedded in the assembly and read once: the
/// one source of the codes and displays the server writes (audit subtypes, card topics, override reasons), so what it emits
/// and what it publishes cannot drift apart.
/// </summary>
internal static class PublishedCodeSystems
{
    /// <summary>Each concept of the file's CodeSystem with its code and display, which every one must have.</summary>
    public static IEnumerable<(string Code, string Display, CodeSystem.ConceptDefinitionComponent Concept)> Concepts(string file) =>
        Read(file).Concept.Select(c => (
            c.Code ?? throw new InvalidOperationException($"{file}: a concept has no code."),
            c.Display ?? throw new InvalidOperationException($"{file}: concept {c.Code} has no display."),
            c));

    /// <summary>A concept's code-valued property, or null.</summary>
    public static string? Property(CodeSystem.ConceptDefinitionComponent concept, string code) =>
        concept.Property.FirstOrDefault(p => p.Code == code)?.Value is Code { Value: { } value } ? value : null;

    private static CodeSystem Read(string file) =>
        Clinical.EmbeddedData.Read<CodeSystem>(typeof(PublishedCodeSystems).Assembly, $"HealthRec.Server.fhir-profiles.{file}", FhirJson.Options);
}
