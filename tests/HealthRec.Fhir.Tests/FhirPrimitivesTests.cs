using Hl7.Fhir.Model;

namespace HealthRec.Fhir.Tests;

/// <summary>
/// The fast reader's checks of code, id and uri never accept what the SDK refuses, and accept what it accepts, for every
/// UTF-16 character in every position. The one difference allowed: the SDK's expressions end in <c>$</c>, which .NET
/// also matches before a final newline, so the SDK accepts "abc\n" as a code or id; refusing it sends the value to the
/// SDK's parser, which then decides.
/// </summary>
public sealed class FhirPrimitivesTests
{
    // Each character alone, inside a word, at either end, and doubled inside: where code, id and uri differ.
    private static IEnumerable<string> Shapes(char c) => [$"{c}", $"a{c}b", $"ab{c}", $"{c}ab", $"a{c}{c}b", $"{c}{c}"];

    private static readonly string[] Assorted =
    [
        "", " ", "final", "mg/dL", "a b", "a  b", " a", "a ", "a\tb", "http://loinc.org", "http://loinc.org ", "urn:uuid:0b1c",
        "urn:uuid:6b4f2e6a-1c0e-4d35-9d55-1a7c1f0e2f10", "urn:oid:2.16.840.1.113883", "urn:oid:x", "Patient/123", "abc-DEF.09",
        new string('x', 64), new string('x', 65), "x\u00a0y", "x\u2028y", "x\u0085y", "http://a b", "%%", "http://[::1", "mailto:a@b",
    ];

    public static TheoryData<string> Types => new() { "code", "id", "uri" };

    [Theory]
    [MemberData(nameof(Types))]
    public void GivenEveryCharacterInEveryShape_WhenChecked_ThenTheAnswerIsTheSdks(string type)
    {
        (Func<string, bool> ours, Func<string, bool> sdk) = type switch
        {
            "code" => ((Func<string, bool>)FhirPrimitives.IsCode, (Func<string, bool>)Code.IsValidValue),
            "id" => (FhirPrimitives.IsId, Id.IsValidValue),
            _ => (FhirPrimitives.IsUri, FhirUri.IsValidValue),
        };
        var differences = new List<string>();
        var (accepted, refused) = (0, 0);
        foreach (var value in Enumerable.Range(0, char.MaxValue + 1).SelectMany(i => Shapes((char)i)).Concat(Assorted))
        {
            var expected = sdk(value);
            var actual = ours(value);
            (accepted, refused) = expected ? (accepted + 1, refused) : (accepted, refused + 1);
            var allowed = actual == expected || (!actual && value.EndsWith('\n'));
            if (!allowed && differences.Count < 10)
            {
                differences.Add($"\"{string.Concat(value.Select(c => c < 128 && !char.IsControl(c) ? c.ToString() : $"\\u{(int)c:x4}"))}\" (SDK: {expected})");
            }
        }

        Assert.True(differences.Count == 0, $"{type}: " + string.Join(", ", differences));
        // Both answers occur among the values, so agreeing is not trivial.
        Assert.True(accepted > 0 && refused > 0, $"{type}: {accepted} accepted, {refused} refused");
    }
}
