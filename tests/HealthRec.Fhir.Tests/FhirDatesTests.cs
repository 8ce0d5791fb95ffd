using System.Globalization;
using System.Text.RegularExpressions;
using Hl7.Fhir.Model;

namespace HealthRec.Fhir.Tests;

/// <summary>
/// The date fast path must be the SDK's answer, only quicker: for every text, valid exactly when the SDK says so, and
/// the same instant with the same offset. Checked on random texts around every boundary (days of February, hour 24,
/// leap seconds, offsets past ±14:00, fraction digits, years before 1000, stray characters) and on every date in the
/// Synthea bundles and the demo cohort.
/// </summary>
public sealed partial class FhirDatesTests
{
    [Fact]
    public void GivenRandomTextsAroundEveryBoundary_WhenReadFast_ThenValidityAndInstantAreTheSdks()
    {
        var random = new Random(20261202);
        var fast = 0;
        var texts = Enumerable.Range(0, 60_000).Select(_ => Candidate(random)).ToList();
        foreach (var text in texts)
        {
            fast += Same(text) ? 1 : 0;
        }

        // The generator must exercise both sides: many texts on the fast path, many left to the SDK.
        Assert.InRange(fast, texts.Count / 10, texts.Count * 9 / 10);
    }

    [Fact]
    public void GivenEveryDateInTheSyntheaBundlesAndTheDemoCohort_WhenReadFast_ThenEachIsTheSdksAndNearlyAllTakeTheFastPath()
    {
        var texts = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(Path.Combine(TestServices.SharedFolder, "data", "synthea"), "*.json"))
        {
            texts.UnionWith(DateValue().Matches(File.ReadAllText(file)).Select(m => m.Groups[1].Value));
        }

        foreach (var file in Directory.GetFiles(Path.Combine(TestServices.RepositoryRoot, "data", "sample"), "*.ndjson.gz"))
        {
            using var reader = new StreamReader(new GZipStream(File.OpenRead(file), CompressionMode.Decompress), Encoding.UTF8);
            texts.UnionWith(DateValue().Matches(reader.ReadToEnd()).Select(m => m.Groups[1].Value));
        }

        var fast = texts.Count(Same);

        Assert.True(texts.Count > 10_000, $"only {texts.Count} dates found");
        Assert.True(fast > texts.Count * 0.99, $"{fast} of {texts.Count} dates took the fast path");
    }

    [Theory]
    [InlineData("2020-02-29", true)]
    [InlineData("2021-02-29", false)]
    [InlineData("2020-06-01T24:00:00Z", false)]
    [InlineData("2020-06-01T12:00:60Z", false)]
    [InlineData("2020-06-01T12:00:00+14:00", true)]
    [InlineData("2020-06-01T12:00:00+14:01", false)]
    [InlineData("2020-06-01T12:00:00.Z", false)]
    [InlineData("2020-06-01T12:00:00.12345678Z", false)]
    [InlineData("2020-06-01T12:00:00", false)]
    [InlineData("2020-06", false)]
    [InlineData("0999-06-01", false)]
    public void GivenABoundary_WhenReadFast_ThenItTakesTheFastPathOnlyWhenItShould(string text, bool fastPath)
    {
        Assert.Equal(fastPath, FhirDates.TryParseCommon(text, out _));
        Same(text);
    }

    // Asserts the fast answers equal the SDK's for this text; true when the fast path answered.
    private static bool Same(string text)
    {
        var sdkValid = FhirDateTime.IsValidValue(text);
        Assert.True(sdkValid == FhirDates.IsValidDateTime(text), $"dateTime validity of '{text}': SDK {sdkValid}");
        Assert.True(Instant.IsValidValue(text) == FhirDates.IsValidInstant(text), $"instant validity of '{text}'");
        DateTimeOffset? sdk = sdkValid && new FhirDateTime(text).TryToDateTimeOffset(TimeSpan.Zero, out var at) ? at : null;
        var ours = FhirDates.ToInstant(text);
        Assert.True(sdk is null ? ours is null : ours is { } o && o.EqualsExact(sdk.Value), $"instant of '{text}': SDK {sdk:o}, fast {ours:o}");
        if (!FhirDates.TryParseCommon(text, out var common))
        {
            return false;
        }

        Assert.True(sdkValid, $"'{text}' read fast but invalid to the SDK");
        Assert.True(common.EqualsExact(sdk!.Value), $"'{text}': SDK {sdk:o}, fast {common:o}");
        if (text.Length > 10)
        {
            Assert.True(common.EqualsExact(DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.None)), $"instant '{text}'");
        }

        return true;
    }

    private static string Candidate(Random random)
    {
        string Pick(params string[] options) => options[random.Next(options.Length)];
        string Two(int max, params string[] odd) => random.Next(4) == 0 ? Pick(odd) : random.Next(0, max + 1).ToString("00", CultureInfo.InvariantCulture);

        var text = new StringBuilder();
        text.Append(random.Next(6) == 0 ? Pick("0000", "0999", "1000", "9998", "9999", "20a0", "202", "12345") : random.Next(1900, 2100).ToString(CultureInfo.InvariantCulture));
        text.Append(random.Next(30) == 0 ? "/" : "-").Append(Two(12, "00", "13", "1a", "7"));
        if (random.Next(12) > 0)
        {
            text.Append('-').Append(Two(31, "00", "32", "29", "30", "31", "3"));
        }

        if (random.Next(4) > 0)
        {
            text.Append(Pick("T", "T", "T", "T", "T", "t", " ")).Append(Two(23, "24", "25", "2x"))
                .Append(':').Append(Two(59, "60", "99")).Append(random.Next(20) == 0 ? "" : ":" + Two(59, "60", "61"));
            if (random.Next(3) == 0)
            {
                text.Append('.').Append(string.Concat(Enumerable.Range(0, random.Next(0, 10)).Select(_ => (char)('0' + random.Next(10)))));
            }

            text.Append(random.Next(8) switch
            {
                0 => "",
                1 => Pick("z", "+0100", "+01:00:00", "UTC", "+1:00"),
                2 or 3 => "Z",
                _ => $"{Pick("+", "-")}{Two(14, "15", "99")}:{Two(59, "60")}",
            });
        }

        // Now and then one character dropped or doubled.
        if (random.Next(15) == 0 && text.Length > 1)
        {
            var at = random.Next(text.Length);
            _ = random.Next(2) == 0 ? text.Remove(at, 1) : text.Insert(at, text[at]);
        }

        return text.ToString();
    }

    [GeneratedRegex("\"(\\d{4}-\\d{2}-\\d{2}[^\"]{0,40})\"")]
    private static partial Regex DateValue();
}
