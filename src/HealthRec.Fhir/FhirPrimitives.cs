using Hl7.Fhir.Model;

namespace HealthRec.Fhir;

/// <summary>
/// Checks of FHIR primitive values for the fast reader, which checks every value it reads. The SDK's own checks run a
/// regular expression (code, id) or build a <see cref="Uri"/> (uri) per value; these never accept what the SDK refuses
/// (a value refused here goes to the SDK's parser, which decides), and accept the same otherwise, tested against the
/// SDK over every UTF-16 character. Whitespace is .NET's <c>\s</c>, which is <see cref="char.IsWhiteSpace(char)"/>.
/// </summary>
internal static class FhirPrimitives
{
    private const int UrisKept = 4096;

    // The uris a thread has checked, with the SDK's answer: a population names a handful of code systems, over and over.
    [ThreadStatic]
    private static Dictionary<string, bool>? t_uris;

    /// <summary>code: <c>[^\s]+( [^\s]+)*</c>, single spaces between runs of other characters.</summary>
    public static bool IsCode(string value)
    {
        if (value.Length == 0)
        {
            return false;
        }

        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == ' ')
            {
                if (i == 0 || i == value.Length - 1 || value[i - 1] == ' ')
                {
                    return false;
                }
            }
            else if (char.IsWhiteSpace(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>id: <c>[A-Za-z0-9\-\.]{1,64}</c>.</summary>
    public static bool IsId(string value)
    {
        if (value.Length is 0 or > 64)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>uri: the SDK's own answer, remembered per thread for the last few thousand distinct values.</summary>
    public static bool IsUri(string value)
    {
        var known = t_uris ??= new Dictionary<string, bool>(StringComparer.Ordinal);
        if (known.TryGetValue(value, out var valid))
        {
            return valid;
        }

        if (known.Count >= UrisKept)
        {
            known.Clear();
        }

        return known[value] = FhirUri.IsValidValue(value);
    }
}
