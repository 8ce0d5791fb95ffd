using System.Text.Encodings.Web;
using System.Threading.Channels;

namespace HealthRec.Fhir.Synthetic;

public enum SyntheticFormat
{
    /// <summary>Bulk Data NDJSON: one file per resource type.</summary>
    Ndjson,

    /// <summary>One transaction Bundle per patient.</summary>
    Bundles,
}

/// <summary>What a run wrote.</summary>
public sealed record CohortSummary(
    long Patients,
    long Deceased,
    IReadOnlyDictionary<SyntheticType, long> Resources,
    IReadOnlyDictionary<InjectedError, long> InjectedErrors,
    TimeSpan Elapsed);

/// <summary>
/// Writes a synthetic cohort: patients are simulated in parallel in batches, each from its own random stream, and
/// written in patient order, so the same options give the same bytes; memory holds one batch whatever the size.
/// Beside the data it writes <c>COHORT.md</c> (what this is, how it was made, what it holds) and
/// <c>injected-errors.csv</c> (every data-entry error put in on purpose, for checking ingestion).
/// </summary>
public sealed class CohortGenerator(CohortOptions options)
{
    public const string ManifestFile = "COHORT.md";
    public const string ErrorsFile = "injected-errors.csv";
    private const int BatchSize = 256;
    private const int RetainedBufferBytes = 128 * 1024;

    internal static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    /// <param name="folder">Created if missing; files of a previous run are replaced.</param>
    /// <param name="format">NDJSON files by type, or a Bundle per patient.</param>
    /// <param name="progress">Told the number of patients written after each batch.</param>
    /// <param name="command">The command line that made the cohort, recorded in the manifest.</param>
    /// <param name="cancellationToken">Stops between batches; what was written stays.</param>
    public async Task<CohortSummary> WriteAsync(string folder, SyntheticFormat format, IProgress<long>? progress, string command,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Patients);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Years);
        var started = System.Diagnostics.Stopwatch.StartNew();
        Directory.CreateDirectory(folder);
        var simulator = new CohortSimulator(options);
        var recordEnd = new DateTimeOffset(options.Start.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).AddYears(options.Years);
        var types = Enum.GetValues<SyntheticType>();
        var resources = types.ToDictionary(t => t, _ => 0L);
        var errors = Enum.GetValues<InjectedError>().Where(e => e != InjectedError.None).ToDictionary(e => e, _ => 0L);
        long deceased = 0;

        var files = format == SyntheticFormat.Ndjson
            ? types.Select(t => new FileStream(Path.Combine(folder, $"{t}.ndjson"), FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 22, useAsync: false)).ToArray()
            : [];
        await using var errorLog = new StreamWriter(Path.Combine(folder, ErrorsFile), false, new UTF8Encoding(false));
        await errorLog.WriteLineAsync("resource_type,resource_id,patient_id,error,expected_problem".AsMemory(), cancellationToken);
        // Batches are simulated on every core while a writer drains finished ones, up to three sets of slots in flight.
        var pool = Channel.CreateBounded<Slot[]>(3);
        for (var i = 0; i < 3; i++)
        {
            pool.Writer.TryWrite(NewSlots(format, recordEnd));
        }

        var ready = Channel.CreateBounded<(Slot[] Slots, int Count, int Offset)>(3);
        var writer = Task.Run(async () =>
        {
            await foreach (var (slots, count, offset) in ready.Reader.ReadAllAsync(cancellationToken))
            {
                await WriteBatchAsync(slots, count, offset);
                await pool.Writer.WriteAsync(slots, cancellationToken);
            }
        }, cancellationToken);
        var all = new List<Slot[]>();
        try
        {
            for (var first = 0; first < options.Patients; first += BatchSize)
            {
                var count = Math.Min(BatchSize, options.Patients - first);
                var offset = first;
                var slots = await pool.Reader.ReadAsync(cancellationToken);
                if (!all.Contains(slots))
                {
                    all.Add(slots);
                }

                Parallel.For(0, count, new ParallelOptions { CancellationToken = cancellationToken }, i => slots[i].Produce(simulator, options.Seed, offset + i));
                await ready.Writer.WriteAsync((slots, count, offset), cancellationToken);
            }

            ready.Writer.Complete();
            await writer;
        }
        finally
        {
            ready.Writer.TryComplete();
            await writer.ContinueWith(_ => { }, TaskScheduler.Default);
            foreach (var file in files)
            {
                await file.DisposeAsync();
            }

            foreach (var slot in all.SelectMany(b => b))
            {
                slot.Dispose();
            }
        }

        async Task WriteBatchAsync(Slot[] slots, int count, int offset)
        {
            for (var i = 0; i < count; i++)
            {
                var slot = slots[i];
                if (format == SyntheticFormat.Ndjson)
                {
                    foreach (var type in types)
                    {
                        await files[(int)type].WriteAsync(slot.Ndjson!.Output(type), cancellationToken);
                    }
                }
                else
                {
                    await File.WriteAllBytesAsync(Path.Combine(folder, $"patient-{offset + i:D7}.json"), slot.Bundle!.Output(), cancellationToken);
                }

                foreach (var type in types)
                {
                    resources[type] += slot.Counts[(int)type];
                }

                deceased += slot.Deceased ? 1 : 0;
                foreach (var (type, id, patient, error) in slot.Errors)
                {
                    errors[error]++;
                    await errorLog.WriteLineAsync($"{type},{id},{patient},{error},{ExpectedProblem(error)}".AsMemory(), cancellationToken);
                }
            }

            progress?.Report(offset + count);
        }

        var summary = new CohortSummary(options.Patients, deceased, resources, errors, started.Elapsed);
        await File.WriteAllTextAsync(Path.Combine(folder, ManifestFile), Manifest(summary, format, command), new UTF8Encoding(false), cancellationToken);
        return summary;
    }

    private static Slot[] NewSlots(SyntheticFormat format, DateTimeOffset recordEnd) =>
        Enumerable.Range(0, BatchSize).Select(_ => new Slot(format, recordEnd)).ToArray();

    /// <summary>The ingestion problem each injected error must produce (HealthRec.Clinical's ProblemKind).</summary>
    public static string ExpectedProblem(InjectedError error) => error switch
    {
        InjectedError.DecimalSlip => "ImplausibleValue",
        InjectedError.UnitNotUcum => "UnknownUnit",
        InjectedError.WrongDimension => "UnconvertibleUnit",
        InjectedError.MissingValue => "MissingValue",
        _ => "",
    };

    private string Manifest(CohortSummary summary, SyntheticFormat format, string command)
    {
        var text = new StringBuilder();
        text.AppendLine("# Synthetic cohort — not real patients");
        text.AppendLine();
        text.AppendLine("Every resource here was made by HealthRec's generator (`healthrec synth`) and carries the HL7 tag");
        text.AppendLine("`http://terminology.hl7.org/CodeSystem/v3-ActReason|HTEST` (test health data). No real person's data is in it.");
        text.AppendLine("The generative model is documented in `src/HealthRec.Fhir/Synthetic/MODEL.md`.");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"- command: `{command}`");
        text.AppendLine(CultureInfo.InvariantCulture, $"- seed {options.Seed}, {options.Patients:N0} patients, from {options.Start:yyyy-MM-dd} for {options.Years} years, format {format.ToString().ToLowerInvariant()}");
        text.AppendLine(CultureInfo.InvariantCulture, $"- deceased during follow-up: {summary.Deceased:N0}");
        text.AppendLine(CultureInfo.InvariantCulture, $"- resources: {string.Join(", ", summary.Resources.Select(kv => $"{kv.Key} {kv.Value:N0}"))}");
        text.AppendLine(CultureInfo.InvariantCulture, $"- data-entry errors put in on purpose (listed in `{ErrorsFile}`): {string.Join(", ", summary.InjectedErrors.Select(kv => $"{kv.Key} {kv.Value:N0}"))}");
        return text.ToString();
    }

    /// <summary>One patient's worth of work: simulation, then FHIR JSON in memory, reused batch after batch.</summary>
    private sealed class Slot(SyntheticFormat format, DateTimeOffset recordEnd) : IDisposable
    {
        private readonly SyntheticFhirWriter _writer = new(recordEnd);

        public NdjsonSink? Ndjson { get; } = format == SyntheticFormat.Ndjson ? new NdjsonSink() : null;

        public BundleSink? Bundle { get; } = format == SyntheticFormat.Bundles ? new BundleSink() : null;

        public long[] Counts => ((SinkBase?)Ndjson ?? Bundle!).Counts;

        public List<(SyntheticType Type, string Id, string Patient, InjectedError Error)> Errors => ((SinkBase?)Ndjson ?? Bundle!).Errors;

        public bool Deceased { get; private set; }

        public void Produce(CohortSimulator simulator, ulong seed, int number)
        {
            var patient = simulator.Simulate(number);
            var ids = CohortSimulator.IdStream(seed, number);
            SinkBase sink = (SinkBase?)Ndjson ?? Bundle!;
            sink.Reset();
            _writer.Write(patient, ids, sink);
            Bundle?.Finish();
            Deceased = patient.DeceasedAt is not null;
        }

        public void Dispose()
        {
            Ndjson?.Dispose();
            Bundle?.Dispose();
        }
    }

    internal abstract class SinkBase : IResourceSink, IDisposable
    {
        protected Utf8JsonWriter Json { get; } = new(Stream.Null, WriterOptions);

        public void Dispose() => Json.Dispose();

        public long[] Counts { get; } = new long[Enum.GetValues<SyntheticType>().Length];

        public List<(SyntheticType Type, string Id, string Patient, InjectedError Error)> Errors { get; } = [];

        public virtual void Reset()
        {
            Array.Clear(Counts);
            Errors.Clear();
        }

        public abstract Utf8JsonWriter Begin(SyntheticType type, string id);

        public abstract void End(SyntheticType type);

        public abstract string Reference(SyntheticType type, string id);

        public void Injected(SyntheticType type, string id, string patientId, InjectedError error) => Errors.Add((type, id, patientId, error));
    }

    /// <summary>NDJSON: a line per resource, in one buffer per type.</summary>
    internal sealed class NdjsonSink : SinkBase
    {
        private readonly ArrayBufferWriter<byte>[] _buffers = Enum.GetValues<SyntheticType>().Select(_ => new ArrayBufferWriter<byte>(1 << 14)).ToArray();

        public ReadOnlyMemory<byte> Output(SyntheticType type) => _buffers[(int)type].WrittenMemory;

        public override void Reset()
        {
            base.Reset();
            for (var i = 0; i < _buffers.Length; i++)
            {
                // A rare very long history grows a buffer; it is not kept, so memory does not creep up with N.
                if (_buffers[i].Capacity > RetainedBufferBytes)
                {
                    _buffers[i] = new ArrayBufferWriter<byte>(1 << 14);
                }
                else
                {
                    _buffers[i].ResetWrittenCount();
                }
            }
        }

        public override Utf8JsonWriter Begin(SyntheticType type, string id)
        {
            Json.Reset(_buffers[(int)type]);
            return Json;
        }

        public override void End(SyntheticType type)
        {
            Json.Flush();
            _buffers[(int)type].Write("\n"u8);
            Counts[(int)type]++;
        }

        public override string Reference(SyntheticType type, string id) => $"{type}/{id}";
    }

    /// <summary>A transaction Bundle per patient: entries with <c>urn:uuid</c> full URLs and POST requests.</summary>
    private sealed class BundleSink : SinkBase
    {
        private ArrayBufferWriter<byte> _buffer = new(1 << 16);
        private bool _started;

        public ReadOnlyMemory<byte> Output() => _buffer.WrittenMemory;

        public override void Reset()
        {
            base.Reset();
            if (_buffer.Capacity > 4 * RetainedBufferBytes)
            {
                _buffer = new ArrayBufferWriter<byte>(1 << 16);
            }
            else
            {
                _buffer.ResetWrittenCount();
            }

            Json.Reset(_buffer);
            _started = false;
        }

        public override Utf8JsonWriter Begin(SyntheticType type, string id)
        {
            if (!_started)
            {
                _started = true;
                Json.WriteStartObject();
                Json.WriteString("resourceType"u8, "Bundle"u8);
                Json.WriteStartObject("meta"u8);
                Json.WriteStartArray("tag"u8);
                Json.WriteStartObject();
                Json.WriteString("system"u8, "http://terminology.hl7.org/CodeSystem/v3-ActReason"u8);
                Json.WriteString("code"u8, "HTEST"u8);
                Json.WriteString("display"u8, "test health data"u8);
                Json.WriteEndObject();
                Json.WriteEndArray();
                Json.WriteEndObject();
                Json.WriteString("type"u8, "transaction"u8);
                Json.WriteStartArray("entry"u8);
            }

            Json.WriteStartObject();
            Json.WriteString("fullUrl"u8, $"urn:uuid:{id}");
            Json.WritePropertyName("resource"u8);
            return Json;
        }

        public override void End(SyntheticType type)
        {
            Json.WriteStartObject("request"u8);
            Json.WriteString("method"u8, "POST"u8);
            Json.WriteString("url"u8, type.ToString());
            Json.WriteEndObject();
            Json.WriteEndObject();
            Counts[(int)type]++;
        }

        public void Finish()
        {
            Json.WriteEndArray();
            Json.WriteEndObject();
            Json.Flush();
        }

        public override string Reference(SyntheticType type, string id) => $"urn:uuid:{id}";
    }
}
