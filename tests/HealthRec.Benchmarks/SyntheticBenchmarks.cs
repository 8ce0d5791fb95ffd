using HealthRec.Fhir.Synthetic;

namespace HealthRec.Benchmarks;

/// <summary>
/// The generator's CPU cost per patient (10 years of history): the simulation, and writing its FHIR NDJSON to memory.
/// End-to-end throughput to disk, and memory over a million patients, are measured by tests/synth-throughput.sh.
/// </summary>
[MemoryDiagnoser]
public class SyntheticBenchmarks : IDisposable
{
    private readonly CohortSimulator _simulator = new(new CohortOptions { Seed = 7 });
    private readonly SyntheticFhirWriter _writer = new(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly CohortGenerator.NdjsonSink _sink = new();
    private SyntheticPatient[] _patients = [];
    private int _next;

    [GlobalSetup]
    public void Setup() => _patients = [.. Enumerable.Range(0, 1000).Select(_simulator.Simulate)];

    [GlobalCleanup]
    public void Dispose()
    {
        _sink.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark]
    public int SimulateOnePatient() => _simulator.Simulate(_next++ % 100_000).Observations.Count;

    [Benchmark]
    public int WriteOnePatientAsNdjson()
    {
        var patient = _patients[_next++ % _patients.Length];
        _sink.Reset();
        _writer.Write(patient, CohortSimulator.IdStream(7, patient.Number), _sink);
        return _sink.Output(SyntheticType.Observation).Length;
    }
}
