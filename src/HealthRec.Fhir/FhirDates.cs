using Hl7.Fhir.Model;

namespace HealthRec.Fhir;

/// <summary>
/// FHIR date, dateTime and instant values in the two shapes nearly all data uses, read without the SDK's regular
/// expressions (they were a seventh of a CDS call's time, each date matched twice): <c>YYYY-MM-DD</c> and
/// <c>YYYY-MM-DDThh:mm:ss[.fffffff](Z|±hh:mm)</c>. Any other text (a partial date, a leap second, more than seven
/// fraction digits, a year before 1000, anything malformed) is "not mine", and the SDK decides, so every answer is the
/// SDK's own: a property test compares both on random values around every boundary and on real data.
/// </summary>
public static class FhirDates
{
    /// <summary>Whether a value is a valid FHIR dateTime (the fast shapes, else the SDK's check).</summary>
    public static bool IsValidDateTime(string value) => TryParseCommon(value, out _) || FhirDateTime.IsValidValue(value);

    /// <summary>Whether a value is a valid FHIR instant (the full fast shape, else the SDK's check).</summary>
    public static bool IsValidInstant(string value) => value.Length > 10 && TryParseCommon(value, out _) || Instant.IsValidValue(value);

    /// <summary>
    /// The instant a dateTime stands for, as the SDK's <c>TryToDateTimeOffset</c> gives it with a default offset of
    /// zero (a date alone is its midnight, UTC); null when it is not a valid dateTime.
    /// </summary>
    public static DateTimeOffset? ToInstant(string? value) =>
        value is not { Length: > 0 } ? null
        : TryParseCommon(value, out var fast) ? fast
        : new FhirDateTime(value).TryToDateTimeOffset(TimeSpan.Zero, out var at) ? at : null;

    /// <summary>The instant a value in one of the two common shapes stands for; false for any other text.</summary>
    public static bool TryParseCommon(ReadOnlySpan<char> s, out DateTimeOffset at)
    {
        at = default;
        if (s.Length < 10 || !Number(s, 0, 4, out var year) || s[4] != '-' || !Number(s, 5, 2, out var month) || s[7] != '-'
            || !Number(s, 8, 2, out var day))
        {
            return false;
        }

        // Years outside 1000–9998 go to the SDK: no offset can then push the instant off DateTimeOffset's range.
        if (year is < 1000 or > 9998 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month))
        {
            return false;
        }

        if (s.Length == 10)
        {
            at = new DateTimeOffset(year, month, day, 0, 0, 0, TimeSpan.Zero);
            return true;
        }

        if (s.Length < 20 || s[10] != 'T' || !Number(s, 11, 2, out var hour) || s[13] != ':' || !Number(s, 14, 2, out var minute)
            || s[16] != ':' || !Number(s, 17, 2, out var second) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        var i = 19;
        long ticks = 0;
        if (s[i] == '.')
        {
            var start = ++i;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                ticks = ticks * 10 + (s[i] - '0');
                i++;
            }

            var digits = i - start;
            if (digits is 0 or > 7)
            {
                return false;
            }

            for (var k = digits; k < 7; k++)
            {
                ticks *= 10;
            }
        }

        TimeSpan offset;
        var zone = s[i..];
        if (zone is "Z")
        {
            offset = TimeSpan.Zero;
        }
        else if (zone.Length == 6 && zone[0] is '+' or '-' && Number(zone, 1, 2, out var offsetHours) && zone[3] == ':'
            && Number(zone, 4, 2, out var offsetMinutes) && (offsetHours <= 13 && offsetMinutes <= 59 || offsetHours == 14 && offsetMinutes == 0))
        {
            offset = new TimeSpan(offsetHours, offsetMinutes, 0);
            if (zone[0] == '-')
            {
                offset = -offset;
            }
        }
        else
        {
            return false;
        }

        at = new DateTimeOffset(year, month, day, hour, minute, second, offset).AddTicks(ticks);
        return true;
    }

    private static bool Number(ReadOnlySpan<char> s, int start, int length, out int value)
    {
        value = 0;
        for (var i = start; i < start + length; i++)
        {
            if (!char.IsAsciiDigit(s[i]))
            {
                return false;
            }

            value = value * 10 + (s[i] - '0');
        }

        return true;
    }
}
