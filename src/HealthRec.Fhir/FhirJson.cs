using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace HealthRec.Fhir;

/// <summary>How FHIR JSON is read.</summary>
public enum FhirParsing
{
    /// <summary>
    /// Reads only the elements HealthRec maps, checking each as the SDK would; anything unexpected is parsed again
    /// strictly, so records and their reported problems are the same as <see cref="Strict"/> for what HealthRec reads.
    /// About three times faster; the default for every source.
    /// </summary>
    Fast,

    /// <summary>The SDK's validating parser on every resource: also reports problems in elements HealthRec ignores.</summary>
    Strict,
}

/// <summary>
/// FHIR R4 JSON with the Firely SDK: one cached <see cref="JsonSerializerOptions"/> (building it per call is very
/// slow), and parsing that turns every failure into a counted problem instead of an exception.
/// </summary>
public static class FhirJson
{
    /// <summary>The one set of options for FHIR POCOs, in and out.</summary>
    public static JsonSerializerOptions Options { get; } = new JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);

    /// <summary>How FHIR JSON is tokenized: resources nest deeper than the reader's default 64 (extensions of extensions).</summary>
    public static JsonReaderOptions ReaderOptions { get; } = new() { MaxDepth = 256 };

    /// <summary>The same depth for a <see cref="JsonDocument"/> of FHIR JSON (or a request that carries it).</summary>
    public static JsonDocumentOptions DocumentOptions { get; } = new() { MaxDepth = 256 };

    /// <summary>Parses one resource; a malformed or invalid one is reported under <paramref name="where"/> and gives null.</summary>
    public static Resource? TryParse(ReadOnlySpan<byte> json, string where, IngestionReport report, FhirParsing parsing = FhirParsing.Fast)
    {
        json = WithoutByteOrderMark(json);
        if (parsing == FhirParsing.Fast && FastResourceReader.TryRead(json, out var fast))
        {
            return fast;
        }

        try
        {
            return JsonSerializer.Deserialize<Resource>(json, Options);
        }
        catch (DeserializationFailedException ex)
        {
            // The SDK's partial result is never used: a value of the wrong shape stays in it and throws when read.
            report.Problem(ProblemKind.InvalidResource, where, Describe(ex));
            return null;
        }
        catch (JsonException ex)
        {
            report.Problem(ProblemKind.MalformedJson, where, ex.Message);
            return null;
        }
        catch (Hl7.Fhir.Validation.CodedValidationException ex)
        {
            // The SDK's invariant checks throw this on their own for some shapes (a "contained" that is one object, not a
            // list) instead of collecting it into DeserializationFailedException (found by BundleFuzzTests).
            report.Problem(ProblemKind.InvalidResource, where, ex.Message);
            return null;
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            // JSON that is not an object at all (an array, a number) where a resource was expected.
            report.Problem(ProblemKind.InvalidResource, where, $"not a FHIR resource: {ex.Message.Split(" for property", 2)[0]}");
            return null;
        }
    }

    /// <summary>
    /// Parses the resource whose first token is the reader's current one, inside the larger JSON text
    /// <paramref name="json"/> the reader reads (a CDS call's body): the fast path reads it in place; when it cannot, the
    /// value's bytes go to the validating path, as <see cref="TryParse(ReadOnlySpan{byte}, string, IngestionReport, FhirParsing)"/>.
    /// Either way the reader is left on the value's last token. Throws <see cref="JsonException"/> only when the text
    /// itself is not JSON.
    /// </summary>
    public static Resource? TryParse(ReadOnlySpan<byte> json, ref Utf8JsonReader reader, string where, IngestionReport report, FhirParsing parsing = FhirParsing.Fast)
    {
        if (parsing == FhirParsing.Fast && reader.TokenType == JsonTokenType.StartObject && FastResourceReader.TryRead(ref reader, out var fast))
        {
            return fast;
        }

        var start = checked((int)reader.TokenStartIndex);
        reader.Skip();
        return TryParse(json[start..checked((int)reader.BytesConsumed)], where, report, FhirParsing.Strict);
    }

    /// <summary>
    /// Parses a Bundle so that one invalid entry does not lose the others: when the whole Bundle is not valid, each
    /// entry's resource is parsed on its own, the invalid ones reported under <c>where entry[i]</c> and left out. Null
    /// (reported) when the JSON is not a Bundle object with an <c>entry</c> array, or not JSON.
    /// </summary>
    public static Bundle? TryParseBundle(ReadOnlySpan<byte> json, string where, IngestionReport report, FhirParsing parsing = FhirParsing.Fast)
    {
        json = WithoutByteOrderMark(json);
        var scratch = new IngestionReport();
        if (TryParse(json, where, scratch, parsing) is { } whole)
        {
            if (whole is Bundle parsed)
            {
                return parsed;
            }

            report.Problem(ProblemKind.UnexpectedResourceType, where, $"expected a Bundle, found {whole.TypeName}");
            return null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException ex)
        {
            report.Problem(ProblemKind.MalformedJson, where, ex.Message);
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("resourceType", out var type) || Text(type) != "Bundle" || !root.TryGetProperty("entry", out var entries) || entries.ValueKind != JsonValueKind.Array)
            {
                foreach (var problem in scratch.AllExamples)
                {
                    report.Problem(problem.Kind, problem.Where, problem.Message);
                }

                return null;
            }

            var bundle = new Bundle
            {
                Type = root.TryGetProperty("type", out var bundleType) && Text(bundleType) is { } typeText
                    && Hl7.Fhir.Utility.EnumUtility.ParseLiteral<Bundle.BundleType>(typeText) is { } known ? known : Bundle.BundleType.Collection,
            };
            var i = 0;
            foreach (var entry in entries.EnumerateArray())
            {
                var at = $"{where} entry[{i++}]";
                if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("resource", out var resource))
                {
                    report.Problem(ProblemKind.EntryWithoutResource, at, "Bundle entry has no resource");
                    continue;
                }

                if (TryParse(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(resource), at, report, parsing) is { } read)
                {
                    bundle.Entry.Add(new Bundle.EntryComponent
                    {
                        FullUrl = entry.TryGetProperty("fullUrl", out var url) ? Text(url) : null,
                        Resource = read,
                    });
                }
            }

            return bundle;
        }
    }

    public static Resource? TryParse(string json, string where, IngestionReport report, FhirParsing parsing = FhirParsing.Fast) =>
        TryParse(System.Text.Encoding.UTF8.GetBytes(json), where, report, parsing);

    public static string Serialize(Resource resource) => JsonSerializer.Serialize(resource, Options);

    // A JSON string's text, or null when it is not a string or cannot be text (an escaped lone surrogate).
    private static string? Text(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        try
        {
            return element.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// A file written by a Windows tool often starts with UTF-8's byte-order mark, which JSON's grammar does not allow
    /// and the readers refuse as a malformed first character: it is dropped (RFC 8259 §8.1 lets a parser ignore it).
    /// </summary>
    public static ReadOnlySpan<byte> WithoutByteOrderMark(ReadOnlySpan<byte> json) => json.StartsWith("\uFEFF"u8) ? json[3..] : json;

    // The SDK lists every issue; the first few say enough, and none carries a resource body.
    private static string Describe(DeserializationFailedException ex)
    {
        var all = ex.Exceptions.ToList();
        var issues = all.Take(3).Select(e => e.Message).ToList();
        var more = all.Count - issues.Count;
        return string.Join(" | ", issues) + (more > 0 ? $" (+{more} more)" : "");
    }
}
