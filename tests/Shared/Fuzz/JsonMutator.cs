namespace HealthRec.Testing;

/// <summary>
/// Mutations of valid JSON for the fuzz tests (CDS calls, NDJSON lines): a few nodes replaced by hostile values (null,
/// wrong types, huge strings and arrays, deep nesting, lone surrogates), removed or wrapped, then at most one
/// byte-level change of the text (truncation, a Latin-1 byte, an escaped lone surrogate, a duplicate key).
/// </summary>
internal static class JsonMutator
{
    private static readonly JsonNode[] Hostile =
    [
        JsonValue.Create(0)!, JsonValue.Create(-1e308)!, JsonValue.Create(true)!, JsonValue.Create("")!, JsonValue.Create("\udc00")!,
        JsonValue.Create(new string('x', 20_000))!, new JsonArray(), new JsonObject(), JsonValue.Create("Patient/../../x")!,
        JsonValue.Create("2026-13-45T99:99:99Z")!, JsonValue.Create(long.MaxValue)!, JsonValue.Create("\u0000")!,
    ];

    // Tree mutations on a copy of the seed, then at most one byte-level mutation of its UTF-8 text.
    public static byte[] Mutate(JsonNode seed, int mutations, Random random)
    {
        var root = seed.DeepClone();
        for (var i = 0; i < mutations; i++)
        {
            var nodes = Nodes(root).ToList();
            var (node, parent, key) = nodes[random.Next(nodes.Count)];
            if (parent is null)
            {
                continue;
            }

            var replacement = random.Next(6) switch
            {
                0 => null,
                1 => Hostile[random.Next(Hostile.Length)].DeepClone(),
                2 => Deep(random.Next(10, 300)),
                3 => new JsonArray([.. Enumerable.Range(0, random.Next(100, 3000)).Select(n => (JsonNode)JsonValue.Create(n))]),
                4 => node is JsonArray array ? new JsonObject { ["entry"] = array.DeepClone() } : new JsonArray(node?.DeepClone()),
                _ => (JsonNode?)"remove",
            };
            Replace(parent, key, replacement, remove: replacement is JsonValue v && v.TryGetValue<string>(out var s) && s == "remove");
        }

        var text = root.ToJsonString();
        switch (random.Next(8))
        {
            case 0:
                return Encoding.UTF8.GetBytes(text[..random.Next(text.Length)]);
            case 1:
                // A Latin-1 byte inside a string: invalid UTF-8.
                var bytes = Encoding.UTF8.GetBytes(text).ToList();
                bytes.Insert(Math.Max(1, bytes.IndexOf((byte)'"', random.Next(bytes.Count)) + 1), 0xE9);
                return [.. bytes];
            case 2:
                // An escaped lone surrogate in the first string value after a random point.
                var at = text.IndexOf(":\"", random.Next(text.Length), StringComparison.Ordinal);
                return Encoding.UTF8.GetBytes(at < 0 ? text : text.Insert(at + 2, "\\ud800"));
            case 3:
                // A duplicate key.
                var colon = text.IndexOf("\":", random.Next(text.Length), StringComparison.Ordinal);
                var start = colon < 0 ? -1 : text.LastIndexOf('"', colon - 1);
                return Encoding.UTF8.GetBytes(start < 0 ? text : text.Insert(start, text[start..(colon + 2)] + "1,"));
            default:
                return Encoding.UTF8.GetBytes(text);
        }
    }

    private static JsonNode Deep(int depth)
    {
        JsonNode node = new JsonArray();
        for (var i = 0; i < depth; i++)
        {
            node = i % 2 == 0 ? new JsonArray(node) : new JsonObject { ["a"] = node };
        }

        return node;
    }

    private static IEnumerable<(JsonNode? Node, JsonNode? Parent, object? Key)> Nodes(JsonNode? node, JsonNode? parent = null, object? key = null)
    {
        yield return (node, parent, key);
        switch (node)
        {
            case JsonObject o:
                foreach (var (name, child) in o.ToList())
                {
                    foreach (var x in Nodes(child, o, name))
                    {
                        yield return x;
                    }
                }

                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    foreach (var x in Nodes(a[i], a, i))
                    {
                        yield return x;
                    }
                }

                break;
        }
    }

    private static void Replace(JsonNode parent, object? key, JsonNode? replacement, bool remove)
    {
        switch (parent, key)
        {
            case (JsonObject o, string name) when remove:
                o.Remove(name);
                break;
            case (JsonObject o, string name):
                o[name] = replacement;
                break;
            case (JsonArray a, int index) when remove:
                a.RemoveAt(index);
                break;
            case (JsonArray a, int index):
                a[index] = replacement;
                break;
        }
    }
}
