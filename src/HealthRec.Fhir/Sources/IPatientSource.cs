namespace HealthRec.Fhir.Sources;

/// <summary>
/// A FHIR source that yields one patient's resources at a time, streaming: no source holds a whole population.
/// Problems are counted in the report and the source goes on with the rest.
/// </summary>
public interface IPatientSource
{
    IAsyncEnumerable<PatientResources> ReadAsync(IngestionReport report, CancellationToken cancellationToken);
}

/// <summary>Groups resources by the patient they are about, counting what is read and what cannot be placed.</summary>
internal sealed class PatientGrouping(IngestionReport report)
{
    private readonly Dictionary<string, List<Hl7.Fhir.Model.Resource>> _groups = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _aliases = new(StringComparer.Ordinal);

    public int Count => _groups.Count;

    /// <summary>Another name for a patient (a Bundle's <c>urn:uuid</c> fullUrl for a Patient with its own id).</summary>
    public void Alias(string alias, string patientKey)
    {
        if (!string.Equals(alias, patientKey, StringComparison.Ordinal))
        {
            _aliases[alias] = patientKey;
        }
    }

    public void Add(Hl7.Fhir.Model.Resource resource, string where)
    {
        report.ResourceRead(resource.TypeName);
        if (!PatientReference.IsRead(resource))
        {
            return;
        }

        var key = PatientReference.SubjectKeyOf(resource);
        if (key is null)
        {
            report.Problem(ProblemKind.MissingPatientReference, where, $"{resource.TypeName} names no patient");
            return;
        }

        Add(key, resource);
    }

    /// <summary>
    /// Parses one line of <paramref name="key"/>'s resources and adds it, counted as read; a line that is not a valid
    /// resource is reported under <paramref name="where"/> and left out.
    /// </summary>
    public void AddParsed(string key, ReadOnlySpan<byte> json, string where, FhirParsing parsing)
    {
        if (FhirJson.TryParse(json, where, report, parsing: parsing) is { } resource)
        {
            Add(key, resource);
            report.ResourceRead(resource.TypeName);
        }
    }

    public void Add(string key, Hl7.Fhir.Model.Resource resource)
    {
        key = _aliases.GetValueOrDefault(key, key);
        if (!_groups.TryGetValue(key, out var list))
        {
            _groups[key] = list = [];
        }

        list.Add(resource);
    }

    /// <summary>The groups in a stable order (patient key), then cleared.</summary>
    public IEnumerable<PatientResources> Drain(string origin)
    {
        foreach (var key in _aliases.Keys.Where(_groups.ContainsKey).ToList())
        {
            var target = _aliases[key];
            if (!_groups.TryGetValue(target, out var list))
            {
                _groups[target] = list = [];
            }

            list.AddRange(_groups[key]);
            _groups.Remove(key);
        }

        var groups = _groups.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => new PatientResources(kv.Key, kv.Value, origin)).ToList();
        _groups.Clear();
        _aliases.Clear();
        return groups;
    }
}
