namespace HealthRec.Fhir.Synthetic;

/// <summary>The JSON pieces every resource is made of: codings, concepts, references and local dates written by hand.</summary>
internal sealed partial class SyntheticFhirWriter
{
    private static void Coding(Utf8JsonWriter w, string system, string code, string? display)
    {
        w.WriteStartObject();
        w.WriteString("system"u8, system);
        w.WriteString("code"u8, code);
        if (display is not null)
        {
            w.WriteString("display"u8, display);
        }

        w.WriteEndObject();
    }

    private static void Concept(Utf8JsonWriter w, string system, string code, string? display, string? text)
    {
        w.WriteStartObject();
        w.WriteStartArray("coding"u8);
        Coding(w, system, code, display);
        w.WriteEndArray();
        if (text is not null)
        {
            w.WriteString("text"u8, text);
        }

        w.WriteEndObject();
    }

    private static void Reference(Utf8JsonWriter w, ReadOnlySpan<byte> name, string reference)
    {
        w.WriteStartObject(name);
        w.WriteString("reference"u8, reference);
        w.WriteEndObject();
    }

    // Local time at the site, with its offset, as its EHR would write it (yyyy-MM-ddTHH:mm:ss+hh:mm), formatted by hand:
    // the generator writes millions of dates.
    private void WriteDate(Utf8JsonWriter w, ReadOnlySpan<byte> name, DateTimeOffset at, Site site)
    {
        var local = at.UtcDateTime + site.Offset;
        var b = _dateBuffer;
        Digits(b, 0, local.Year, 4);
        b[4] = (byte)'-';
        Digits(b, 5, local.Month, 2);
        b[7] = (byte)'-';
        Digits(b, 8, local.Day, 2);
        b[10] = (byte)'T';
        Digits(b, 11, local.Hour, 2);
        b[13] = (byte)':';
        Digits(b, 14, local.Minute, 2);
        b[16] = (byte)':';
        Digits(b, 17, local.Second, 2);
        var offset = (int)site.Offset.TotalMinutes;
        b[19] = offset < 0 ? (byte)'-' : (byte)'+';
        offset = Math.Abs(offset);
        Digits(b, 20, offset / 60, 2);
        b[22] = (byte)':';
        Digits(b, 23, offset % 60, 2);
        w.WriteString(name, b.AsSpan(0, 25));
    }

    private static void Digits(byte[] buffer, int at, int value, int width)
    {
        for (var i = width - 1; i >= 0; i--)
        {
            buffer[at + i] = (byte)('0' + (value % 10));
            value /= 10;
        }
    }
}
