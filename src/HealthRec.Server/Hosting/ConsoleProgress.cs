namespace HealthRec.Server.Hosting;

/// <summary>
/// Progress of a long command-line step on standard error (standard output stays the result): at most one line every
/// two seconds, "read: 12,000 patients (6,100/s)", and a last line when a known total is reached. Reports on the
/// caller's thread, in order (unlike <see cref="Progress{T}"/>, which posts to the thread pool).
/// </summary>
internal sealed class ConsoleProgress(string step, string unit, long? total = null) : IProgress<long>
{
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(2);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _last;

    public void Report(long value)
    {
        if (_clock.Elapsed - _last < Every && value != total)
        {
            return;
        }

        _last = _clock.Elapsed;
        var rate = value / Math.Max(_clock.Elapsed.TotalSeconds, 0.001);
        Console.Error.WriteLine(total is { } all
            ? string.Create(CultureInfo.InvariantCulture, $"{step}: {value:N0} / {all:N0} {unit} ({rate:N0}/s)")
            : string.Create(CultureInfo.InvariantCulture, $"{step}: {value:N0} {unit} ({rate:N0}/s)"));
    }
}
