using Hl7.Fhir.Model;

namespace HealthRec.Fhir;

/// <summary>The JSON tokens: reading, expecting and skipping them; any surprise ends the attempt.</summary>
internal static partial class FastResourceReader
{
    private static string ReadId(ref Utf8JsonReader r) => Checked(ReadString(ref r), FhirPrimitives.IsId);

    private static T ReadEnum<T>(ref Utf8JsonReader r)
        where T : struct, Enum =>
        EnumUtility.ParseLiteral<T>(ReadString(ref r)) ?? throw Unexpected($"a code outside {typeof(T).Name}");

    private static string ReadString(ref Utf8JsonReader r)
    {
        Read(ref r);
        return CurrentString(ref r);
    }

    private static string CurrentString(ref Utf8JsonReader r) =>
        r.TokenType == JsonTokenType.String && r.GetString() is { Length: > 0 } value && FhirString.IsValidValue(value)
            ? value
            : throw Unexpected("a non-empty string");

    private static bool ReadBoolean(ref Utf8JsonReader r)
    {
        Read(ref r);
        return r.TokenType switch
        {
            JsonTokenType.True => true,
            JsonTokenType.False => false,
            _ => throw Unexpected("a boolean"),
        };
    }

    private static string Checked(string value, Func<string, bool> isValid) => isValid(value) ? value : throw Unexpected("a valid primitive");

    private static void Read(ref Utf8JsonReader r)
    {
        if (!r.Read())
        {
            throw Unexpected("more JSON");
        }
    }

    private static void ReadObject(ref Utf8JsonReader r)
    {
        Read(ref r);
        Expect(ref r, JsonTokenType.StartObject);
    }

    private static void ReadArray(ref Utf8JsonReader r)
    {
        Read(ref r);
        Expect(ref r, JsonTokenType.StartArray);
    }

    private static void Expect(ref Utf8JsonReader r, JsonTokenType type)
    {
        if (r.TokenType != type)
        {
            throw Unexpected(type.ToString());
        }
    }

    // Inside an object: true on the next member name, false at its end.
    private static bool NextProperty(ref Utf8JsonReader r)
    {
        Read(ref r);
        return r.TokenType switch
        {
            JsonTokenType.PropertyName when r.ValueIsEscaped => throw Unexpected("a member name without escapes"),
            JsonTokenType.PropertyName => true,
            JsonTokenType.EndObject => false,
            _ => throw Unexpected("a member"),
        };
    }

    // Inside an array: true on the next item (positioned on its first token), false at its end; null items are
    // not FHIR and go to the validating path.
    private static bool NextItem(ref Utf8JsonReader r)
    {
        Read(ref r);
        return r.TokenType switch
        {
            JsonTokenType.EndArray => false,
            JsonTokenType.Null => throw Unexpected("an item"),
            _ => true,
        };
    }

    private static void Skip(ref Utf8JsonReader r)
    {
        Read(ref r);
        r.Skip();
    }

    private static JsonException Unexpected(string what) => new($"expected {what}");
}
