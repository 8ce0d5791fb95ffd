namespace HealthRec.Testing;

/// <summary>
/// The real services integration tests use: PostgreSQL and the FHIR test server, started by <c>.ci/run</c>
/// (or by <c>tests/services.sh up</c> on a developer machine), found through environment variables or the
/// file <c>services.sh</c> writes. Missing under CI is a failure; missing elsewhere is a skip that says how to
/// start them.
/// </summary>
internal static class TestServices
{
    public const string PostgresVariable = "HEALTHREC_TEST_POSTGRES";
    public const string FhirVariable = "HEALTHREC_TEST_FHIR";

    private static readonly Lazy<Dictionary<string, string>> ServicesFile = new(ReadServicesFile);

    /// <summary>An admin connection string to the test PostgreSQL server (tests create their own databases).</summary>
    public static string PostgresConnectionString => Require(PostgresVariable, "PostgreSQL 15 server");

    /// <summary>The FHIR R4 base URL of the FHIR test server (Medplum's engine on loopback).</summary>
    public static Uri FhirBaseUrl => new(Require(FhirVariable, "FHIR test server").TrimEnd('/') + "/");

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The folder <c>../shared</c> beside the repository (Synthea bundles, spec examples).</summary>
    public static string SharedFolder
    {
        get
        {
            var shared = Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared"));
            if (Directory.Exists(shared))
            {
                return shared;
            }

            var message = $"The shared folder is missing at {shared}: it holds the Synthea bundles and the CDS Hooks examples " +
                "these tests read. Place the project's shared/ folder beside the repository.";
            if (IsCi)
            {
                Assert.Fail(message);
            }

            Assert.Skip(message);
            return shared;
        }
    }

    /// <summary>
    /// Debian's Python with scikit-learn (<c>python3-sklearn</c>, which .ci/run installs): <c>/usr/bin/python3</c>, not
    /// a <c>python3</c> earlier on the PATH that may lack it.
    /// </summary>
    public static string ScikitLearnPython => LazyScikitLearn.Value ?? Missing(
        "/usr/bin/python3 with scikit-learn is missing: install Debian's python3-sklearn (.ci/run does).");

    private static readonly Lazy<string?> LazyScikitLearn = new(() =>
    {
        try
        {
            using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/usr/bin/python3", ["-c", "import sklearn"])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            });
            process!.WaitForExit();
            return process.ExitCode == 0 ? "/usr/bin/python3" : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    });

    private static string Missing(string message)
    {
        if (IsCi)
        {
            Assert.Fail(message);
        }

        Assert.Skip(message);
        return "";
    }

    /// <summary>The repository root: the folder holding HealthRec.sln above the test binaries.</summary>
    public static string RepositoryRoot => Repository.Root;

    /// <summary>
    /// Copies a folder — relative to the repository root (<c>models</c>: the default registry) or absolute — into
    /// <paramref name="to"/>, to change without touching the original.
    /// </summary>
    public static void CopyFolder(string from, string to)
    {
        var source = Path.Combine(RepositoryRoot, from);
        foreach (var file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    private static string Require(string variable, string what)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(value))
        {
            ServicesFile.Value.TryGetValue(variable, out value);
        }

        if (!string.IsNullOrWhiteSpace(value))
        {
            return value;
        }

        var message = $"{variable} is not set, so the {what} this test needs is unknown. .ci/run starts it; on a developer " +
            $"machine run `tests/services.sh up` (the tests then read {ServicesFilePath}) or export {variable}.";
        if (IsCi)
        {
            Assert.Fail(message);
        }

        Assert.Skip(message);
        return value!;
    }

    private static string ServicesFilePath => Path.Combine(
        Environment.GetEnvironmentVariable("HEALTHREC_SERVICES_DIR") ?? Path.Combine(Path.GetTempPath(), "healthrec-services"),
        "services.env");

    // Lines of the form `export NAME=value` or `NAME=value`, as services.sh writes them.
    private static Dictionary<string, string> ReadServicesFile()
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!File.Exists(ServicesFilePath))
        {
            return values;
        }

        foreach (var line in File.ReadAllLines(ServicesFilePath))
        {
            var text = line.Trim();
            if (text.StartsWith("export ", StringComparison.Ordinal))
            {
                text = text["export ".Length..];
            }

            var equals = text.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                values[text[..equals]] = text[(equals + 1)..].Trim('\'', '"');
            }
        }

        return values;
    }
}
