namespace HealthRec.Server.Ingestion;

/// <summary>
/// What the input holds that no definition reads: every code (by resource type and system) that no analyte, condition
/// group or medication class of the terminology matches, with its count — the top ones printed, the full list written
/// as CSV — so that a site sees what its definitions could still describe instead of a silent 0 % presence.
/// </summary>
internal static class UnusedDataReport
{
    public const int Shown = 50;

    public static async Task WriteAsync(IngestionReport report, string fullListFile, TextWriter output)
    {
        var unread = report.UnreadCodes;
        if (unread.Count == 0)
        {
            await output.WriteLineAsync("unread codes: none (every coded Observation, Condition and medicine is read by a definition)");
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(fullListFile))!);
        await using (var file = new StreamWriter(fullListFile))
        {
            await file.WriteLineAsync("resource_type,system,code,display,count");
            foreach (var u in unread)
            {
                await file.WriteLineAsync(CsvText.Line(u.ResourceType, u.System, u.Code, u.Display ?? "", u.Count.ToString(CultureInfo.InvariantCulture)));
            }
        }

        var ci = CultureInfo.InvariantCulture;
        var byType = unread.GroupBy(u => u.ResourceType, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => string.Create(ci, $"{g.Key} {g.Sum(u => u.Count):N0} ({g.Count():N0} codes)"));
        await output.WriteLineAsync(string.Create(ci,
            $"unread codes: no analyte, condition group or medication class reads these ({string.Join(", ", byType)}); ") +
            $"describe them in the terminology folder to use them. Top {Math.Min(Shown, unread.Count)}; all in {fullListFile}:");
        foreach (var u in unread.Take(Shown))
        {
            var display = u.Display is { Length: > 0 } d ? $"  {(d.Length > 60 ? d[..57] + "..." : d)}" : "";
            await output.WriteLineAsync(string.Create(ci, $"  {u.Count,9:N0}  {u.ResourceType,-20} {u.System}|{u.Code}{display}"));
        }
    }
}
