namespace HealthRec.Server.CdsHooks;

/// <summary>
/// A CDS call's body read in one pass. The prefetch is nearly all of it (300 resources, 200 KB): each key the service
/// defines is read as FHIR straight from the body's bytes, and only the rest of the call — hook, context, fhirServer,
/// fhirAuthorization — becomes a small <see cref="JsonDocument"/> for the request's checks, with <c>"prefetch": {}</c> in
/// place of the values (a prefetch that is not an object stays as it is, for the checks to refuse). The body is never
/// built into a document and then read again: the two passes were a third of a call's time.
/// </summary>
internal sealed class CdsBody : IDisposable
{
    private readonly JsonDocument _envelope;

    private CdsBody(JsonDocument envelope, IReadOnlyDictionary<string, PrefetchedKey>? prefetch)
    {
        _envelope = envelope;
        Prefetch = prefetch;
    }

    /// <summary>Every member of the body, the prefetch object emptied.</summary>
    public JsonElement Root => _envelope.RootElement;

    /// <summary>The prefetch keys read, by key (null when the body has no prefetch object).</summary>
    public IReadOnlyDictionary<string, PrefetchedKey>? Prefetch { get; }

    /// <summary>
    /// Reads a body for the called <paramref name="services"/>: the prefetch keys their templates define are read, the
    /// others skipped. Throws <see cref="JsonException"/> when the body is not JSON.
    /// </summary>
    public static CdsBody Parse(ReadOnlySpan<byte> json, IReadOnlyList<CdsServiceDefinition> services)
    {
        var reader = new Utf8JsonReader(json, FhirJson.ReaderOptions);
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            // Not an object: the request's checks say so; the document is the body as it is.
            return new CdsBody(JsonDocument.Parse(json.ToArray(), FhirJson.DocumentOptions), null);
        }

        var envelope = new ArrayBufferWriter<byte>(1024);
        Dictionary<string, PrefetchedKey>? prefetch = null;
        using (var writer = new Utf8JsonWriter(envelope))
        {
            writer.WriteStartObject();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                reader.Read();
                if (name == "prefetch" && reader.TokenType == JsonTokenType.StartObject)
                {
                    writer.WriteStartObject(name);
                    writer.WriteEndObject();
                    prefetch ??= new Dictionary<string, PrefetchedKey>(StringComparer.Ordinal);
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var key = reader.GetString()!;
                        reader.Read();
                        if (services.Any(s => s.Prefetch?.ContainsKey(key) == true))
                        {
                            prefetch[key] = PrefetchReader.Read(key, json, ref reader);
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }

                    continue;
                }

                var start = checked((int)reader.TokenStartIndex);
                reader.Skip();
                writer.WritePropertyName(name);
                writer.WriteRawValue(json[start..checked((int)reader.BytesConsumed)], skipInputValidation: true);
            }

            writer.WriteEndObject();
        }

        // Anything but white space after the object is not JSON: the reader throws, as JsonDocument does.
        if (reader.Read())
        {
            throw new JsonException("The body holds more than one JSON value.");
        }

        return new CdsBody(JsonDocument.Parse(envelope.WrittenMemory, FhirJson.DocumentOptions), prefetch);
    }

    public void Dispose() => _envelope.Dispose();
}
