using System.Text.Unicode;

namespace HealthRec.Server.CdsHooks;

/// <summary>
/// What System.Text.Json parses but cannot turn into .NET strings: bytes that are not UTF-8, and <c>\u</c> escapes of
/// unpaired UTF-16 surrogates (<c>"\udc00"</c>). Both are refused at the door with a 400, so no string read later
/// throws (RFC 8259 §8.2: such text is not interoperable Unicode).
/// </summary>
internal static class JsonText
{
    /// <summary>Why the JSON text is not valid Unicode, or null when it is.</summary>
    public static string? Problem(ReadOnlySpan<byte> json)
    {
        if (!Utf8.IsValid(json))
        {
            return "the body is not valid UTF-8 (a byte of another encoding, e.g. Latin-1, inside a string)";
        }

        // A high surrogate escape must be followed at once by a low one ("\ud83d\ude00"); a low one alone is unpaired.
        var highEnd = -1;
        for (var i = json.IndexOf((byte)'\\'); i >= 0 && i < json.Length - 1; i = Next(json, i))
        {
            var unit = json[i + 1] == (byte)'u' && i + 5 < json.Length ? Hex(json.Slice(i + 2, 4)) : -1;
            var low = unit is >= 0xDC00 and <= 0xDFFF;
            if (highEnd >= 0)
            {
                if (i != highEnd || !low)
                {
                    return Unpaired;
                }

                highEnd = -1;
                continue;
            }

            if (low)
            {
                return Unpaired;
            }

            if (unit is >= 0xD800 and <= 0xDBFF)
            {
                highEnd = i + 6;
            }
        }

        return highEnd >= 0 ? Unpaired : null;
    }

    private const string Unpaired = "a string holds an unpaired UTF-16 surrogate escape (e.g. \\udc00), which is not a Unicode character";

    // The next backslash after the escape at i (\uXXXX is six bytes, any other escape two).
    private static int Next(ReadOnlySpan<byte> json, int i)
    {
        var after = i + (json[i + 1] == (byte)'u' ? 6 : 2);
        if (after >= json.Length)
        {
            return -1;
        }

        var next = json[after..].IndexOf((byte)'\\');
        return next < 0 ? -1 : after + next;
    }

    private static int Hex(ReadOnlySpan<byte> digits)
    {
        var value = 0;
        foreach (var d in digits)
        {
            var v = d switch
            {
                >= (byte)'0' and <= (byte)'9' => d - '0',
                >= (byte)'a' and <= (byte)'f' => d - 'a' + 10,
                >= (byte)'A' and <= (byte)'F' => d - 'A' + 10,
                _ => -1,
            };
            if (v < 0)
            {
                return -1;
            }

            value = (value * 16) + v;
        }

        return value;
    }
}
