using Firely.Fhir.Validation;
using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Source;
using Hl7.Fhir.Specification.Terminology;
using Task = System.Threading.Tasks.Task;

namespace HealthRec.Fhir.Tests;

/// <summary>The synthetic cohort generator: determinism, valid FHIR, exactly the injected errors, published equations.</summary>
public sealed class SyntheticCohortTests() : TempFolderTests("healthrec-synth-")
{
    private async Task<string> GenerateAsync(string name, int patients, ulong seed, SyntheticFormat format = SyntheticFormat.Ndjson, int years = 13)
    {
        var folder = Path.Combine(Folder.FullName, name);
        await new CohortGenerator(new CohortOptions { Patients = patients, Seed = seed, Years = years }).WriteAsync(folder, format, null, "test", Ct);
        return folder;
    }

    [Fact]
    public async Task GivenTheSameSeed_WhenGeneratedTwice_ThenEveryFileIsByteIdentical_AndAnotherSeedDiffers()
    {
        var first = await GenerateAsync("a", 300, 5);
        var second = await GenerateAsync("b", 300, 5);
        var other = await GenerateAsync("c", 300, 6);

        var files = Directory.GetFiles(first).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Contains("Observation.ndjson", files);
        Assert.Contains(CohortGenerator.ErrorsFile, files);
        foreach (var file in files)
        {
            Assert.True(File.ReadAllBytes(Path.Combine(first, file!)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(second, file!))), file);
        }

        Assert.NotEqual(File.ReadAllText(Path.Combine(first, "Patient.ndjson")), File.ReadAllText(Path.Combine(other, "Patient.ndjson")));
        Assert.NotEqual(File.ReadAllText(Path.Combine(first, "Observation.ndjson")), File.ReadAllText(Path.Combine(other, "Observation.ndjson")));
    }

    [Fact]
    public async Task GivenAGeneratedCohort_WhenEveryResourceIsParsed_ThenAllParseStrictlyAndFastAndAllAreTaggedSynthetic()
    {
        var folder = await GenerateAsync("parse", 300, 11);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);

        foreach (var file in Directory.GetFiles(folder, "*.ndjson"))
        {
            foreach (var line in File.ReadLines(file))
            {
                var report = new IngestionReport();
                var bytes = Encoding.UTF8.GetBytes(line);
                Assert.True(FastResourceReader.TryRead(bytes, out _), line[..Math.Min(200, line.Length)]);
                var resource = FhirJson.TryParse(bytes, Path.GetFileName(file), report, parsing: FhirParsing.Strict);
                Assert.True(resource is not null, string.Join("; ", report.AllExamples.Select(p => p.Message)) + " in " + line[..Math.Min(200, line.Length)]);
                Assert.Contains(resource!.Meta?.Tag ?? [], t => t is { System: "http://terminology.hl7.org/CodeSystem/v3-ActReason", Code: "HTEST" });
                counts[resource.TypeName] = counts.GetValueOrDefault(resource.TypeName) + 1;
            }
        }

        foreach (var type in Enum.GetNames<SyntheticType>())
        {
            Assert.True(counts.GetValueOrDefault(type) > 0, $"no {type} in 300 patients");
        }
    }

    [Fact]
    public async Task GivenASampleOfEachResourceType_WhenValidatedAgainstTheR4BaseProfiles_ThenThereAreNoErrors()
    {
        var folder = await GenerateAsync("validate", 100, 12);
        var resolver = new CachedResolver(ZipSource.CreateValidationSource());
        var validator = new Validator(resolver, new LocalTerminologyService(resolver));
        // The control: the validator does find errors (an Observation without its required code).
        Assert.Contains(validator.Validate(new Observation { Status = ObservationStatus.Final }).Issue,
            i => i.Severity == OperationOutcome.IssueSeverity.Error);

        foreach (var file in Directory.GetFiles(folder, "*.ndjson").Order(StringComparer.Ordinal))
        {
            // The first twenty of each type (data-entry errors among them are still valid FHIR).
            foreach (var line in File.ReadLines(file).Take(20))
            {
                var resource = FhirJson.TryParse(line, Path.GetFileName(file), new IngestionReport(), FhirParsing.Strict)!;
                var outcome = validator.Validate(resource);
                var errors = outcome.Issue.Where(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal).ToList();
                Assert.True(errors.Count == 0, $"{resource.TypeName}/{resource.Id}: " + string.Join(" | ", errors.Select(e => $"{e.Details?.Text} at {string.Join(",", e.Expression)}")));
            }
        }
    }

    [Fact]
    public async Task GivenGeneratedNdjson_WhenIngested_ThenExactlyTheInjectedErrorsAreReported()
    {
        var folder = await GenerateAsync("ingest", 1500, 13);
        var problems = new ConcurrentBag<IngestionProblem>();
        var report = new IngestionReport(problems.Add);

        var records = await Ingestion.ReadAllAsync(new NdjsonSource(folder), report);

        Assert.Equal(1500, records.Count);
        var injected = File.ReadLines(Path.Combine(folder, CohortGenerator.ErrorsFile)).Skip(1).Select(l => l.Split(','))
            .ToDictionary(f => f[1], f => f[4], StringComparer.Ordinal);
        Assert.True(injected.Count >= 20, $"only {injected.Count} errors injected");
        var reported = problems.ToDictionary(p => p.Where.Split(' ')[0].Split('/')[1], p => p.Kind.ToString(), StringComparer.Ordinal);
        Assert.Equal(injected.OrderBy(kv => kv.Key, StringComparer.Ordinal), reported.OrderBy(kv => kv.Key, StringComparer.Ordinal));
    }

    [Fact]
    public async Task GivenTheSameCohortAsNdjsonAndAsBundles_WhenIngested_ThenTheRecordsAreTheSame()
    {
        var ndjson = await GenerateAsync("n", 60, 14);
        var bundles = await GenerateAsync("b", 60, 14, SyntheticFormat.Bundles);

        var fromNdjson = await Ingestion.ReadAllAsync(new NdjsonSource(ndjson), new IngestionReport());
        var fromBundles = await Ingestion.ReadAllAsync(new BundleSource(bundles), new IngestionReport());

        Assert.Equal(60, Directory.GetFiles(bundles, "*.json").Length);
        Assert.Equal(fromNdjson.Select(FastPathTests.Describe).Order(StringComparer.Ordinal), fromBundles.Select(FastPathTests.Describe).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task GivenTheCommittedDemoSample_WhenRegeneratedWithItsRecordedCommand_ThenItIsExactlyWhatTheGeneratorMakes()
    {
        var sample = Path.Combine(Testing.TestServices.RepositoryRoot, "data", "sample");
        var manifest = await File.ReadAllTextAsync(Path.Combine(sample, CohortGenerator.ManifestFile), Ct);
        Assert.Contains("--patients 300 --seed 20261129", manifest, StringComparison.Ordinal);
        Assert.Contains("--years 10", manifest, StringComparison.Ordinal);

        var fresh = await GenerateAsync("sample", 300, 20261129, years: 10);

        foreach (var type in Enum.GetNames<SyntheticType>())
        {
            await using var gzip = new System.IO.Compression.GZipStream(File.OpenRead(Path.Combine(sample, $"{type}.ndjson.gz")),
                System.IO.Compression.CompressionMode.Decompress);
            using var committed = new MemoryStream();
            await gzip.CopyToAsync(committed, Ct);
            var made = await File.ReadAllBytesAsync(Path.Combine(fresh, $"{type}.ndjson"), Ct);
            Assert.True(committed.ToArray().AsSpan().SequenceEqual(made),
                $"data/sample/{type}.ndjson.gz is not what the generator makes now: regenerate it (data/sample/README.md)");
        }

        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(fresh, CohortGenerator.ErrorsFile), Ct),
            await File.ReadAllTextAsync(Path.Combine(sample, CohortGenerator.ErrorsFile), Ct));
    }

    [Theory]
    // Goff DC et al. 2013 ACC/AHA risk assessment guideline, worked example: age 55, total cholesterol 213 mg/dL,
    // HDL 50 mg/dL, untreated SBP 120 mmHg, non-smoker, no diabetes.
    [InlineData(true, false, 0.021)]
    [InlineData(true, true, 0.030)]
    [InlineData(false, false, 0.053)]
    [InlineData(false, true, 0.061)]
    public void GivenThePublishedWorkedExample_WhenPooledCohortRiskIsComputed_ThenItMatches(bool female, bool black, double expected)
    {
        var risk = RiskEquations.PooledCohort10Year(female, black, 55, 213, 50, 120, treatedSbp: false, smoker: false, diabetic: false);

        Assert.Equal(expected, risk, 0.0015);
    }

    [Theory]
    // CKD-EPI 2021 (Inker LA et al., NEJM 2021): the NKF calculator gives 69 for both.
    [InlineData(1.0, 50, true, 69)]
    [InlineData(1.2, 60, false, 69)]
    public void GivenCreatinine_WhenEgfrIsComputed_ThenItMatchesTheCkdEpi2021Equation_AndInvertsExactly(double creatinine, double age, bool female, double expected)
    {
        var egfr = RiskEquations.CkdEpi2021(creatinine, age, female);

        Assert.Equal(expected, egfr, 0.6);
        Assert.Equal(creatinine, RiskEquations.CreatinineForEgfr(egfr, age, female), 1e-9);
        Assert.Equal(0.5, RiskEquations.CreatinineForEgfr(RiskEquations.CkdEpi2021(0.5, age, female), age, female), 1e-9);
    }

    [Theory]
    // FINDRISC bands (Lindström 2003): < 7 → 1 %, 12–14 → 17 %, > 20 → 50 %.
    [InlineData(2, 0.01)]
    [InlineData(13, 0.17)]
    [InlineData(25, 0.50)]
    public void GivenAFindriscScore_WhenTenYearRiskIsRead_ThenItMatchesThePublishedBand(int score, double expected)
    {
        Assert.Equal(expected, RiskEquations.Findrisc10Year(score), 0.001);
        Assert.True(RiskEquations.Findrisc10Year(score) >= RiskEquations.Findrisc10Year(Math.Max(0, score - 1)));
    }
}
