using Hl7.Fhir.Model;

namespace HealthRec.Fhir;

/// <summary>
/// The tables the readers are made of: for each type, the members it reads, each a name and how its value is read
/// into the object; a choice element (<c>value[x]</c>) is named once with the types it may take. One loop reads every
/// object with its type's table, so each type's reader says only what differs: which members, read how.
/// </summary>
internal static partial class FastResourceReader
{
    /// <summary>Reads one member's value (the reader is on its name) into the object being filled.</summary>
    private delegate void MemberRead<in T>(ref Utf8JsonReader r, T target);

    /// <summary>Reads a value whose first token is the current one (an array's item) or the next (a member's value).</summary>
    private delegate TValue ValueRead<out TValue>(ref Utf8JsonReader r);

    /// <summary>The members of <typeparamref name="T"/> the reader knows; a resource's <c>id</c> is always read, any other member skipped.</summary>
    private sealed class Members<T>
        where T : Base
    {
        private static Members<T>? _ofType;
        private readonly byte[][] _names;
        private readonly bool[] _isChoice;
        private readonly MemberRead<T>[] _reads;

        public Members(params (string Name, MemberRead<T> Read)[] members)
        {
            _isChoice = [.. members.Select(m => m.Name.EndsWith("[x]", StringComparison.Ordinal))];
            _names = [.. members.Select(m => Encoding.UTF8.GetBytes(m.Name.Replace("[x]", "", StringComparison.Ordinal)))];
            _reads = [.. members.Select(m => m.Read)];
            _ofType = this;
        }

        /// <summary>The table of <typeparamref name="T"/> (each type has one), for a list that names only its items' type.</summary>
        public static Members<T> OfType => _ofType ?? throw new InvalidOperationException($"no table reads {typeof(T).Name}");

        /// <summary>The object's members into <paramref name="target"/>, its <c>{</c> read; the reader ends on its <c>}</c>.</summary>
        public TTarget Fill<TTarget>(ref Utf8JsonReader r, TTarget target)
            where TTarget : T
        {
            while (NextProperty(ref r))
            {
                var name = r.ValueSpan;
                if (target is Resource resource && name.SequenceEqual("id"u8))
                {
                    resource.Id = ReadId(ref r);
                }
                else if (Find(name) is var index and >= 0)
                {
                    _reads[index](ref r, target);
                }
                else
                {
                    Skip(ref r);
                }
            }

            return target;
        }

        /// <summary>A new object whose <c>{</c> is the current token (an array's item).</summary>
        public T Nested(ref Utf8JsonReader r)
        {
            Expect(ref r, JsonTokenType.StartObject);
            return Fill(ref r, New());
        }

        /// <summary>A new object whose <c>{</c> is the next token (a member's value).</summary>
        public T Next(ref Utf8JsonReader r)
        {
            ReadObject(ref r);
            return Fill(ref r, New());
        }

        // What new T() compiles to; the constraint is left off so that a table can serve an abstract type (IdOnly).
        private static T New() => Activator.CreateInstance<T>();

        private int Find(ReadOnlySpan<byte> name)
        {
            for (var i = 0; i < _names.Length; i++)
            {
                var known = _names[i];
                if (_isChoice[i] ? IsChoiceOf(name, known) : name.SequenceEqual(known))
                {
                    return i;
                }
            }

            return -1;
        }

        // valueQuantity is value[x]; valueset is not.
        private static bool IsChoiceOf(ReadOnlySpan<byte> name, ReadOnlySpan<byte> prefix) =>
            name.Length > prefix.Length && name.StartsWith(prefix) && char.IsAsciiLetterUpper((char)name[prefix.Length]);
    }

    /// <summary>The types a choice element may take that the reader reads, by the suffix of the member's name.</summary>
    private sealed class ChoiceTypes(params (string Suffix, ValueRead<DataType> Read)[] types)
    {
        private readonly (byte[] Suffix, ValueRead<DataType> Read)[] _types = [.. types.Select(t => (Encoding.UTF8.GetBytes(t.Suffix), t.Read))];

        /// <summary>
        /// Whether a type not listed is skipped (an extension's value the mapper does not read); by default it ends the
        /// attempt, so that a value of the element is never dropped.
        /// </summary>
        public bool OthersSkipped { get; init; }

        /// <summary>A member that reads <paramref name="name"/>[x] with these types and sets it.</summary>
        public (string, MemberRead<T>) Member<T>(string name, Action<T, DataType> set) =>
            (name + "[x]", (ref r, target) =>
            {
                if (Read(ref r, name.Length) is { } value)
                {
                    set(target, value);
                }
            });

        private DataType? Read(ref Utf8JsonReader r, int prefix)
        {
            var suffix = r.ValueSpan[prefix..];
            foreach (var (known, read) in _types)
            {
                if (suffix.SequenceEqual(known))
                {
                    return read(ref r);
                }
            }

            if (OthersSkipped)
            {
                Skip(ref r);
                return null;
            }

            throw Unexpected($"a type of {Encoding.UTF8.GetString(r.ValueSpan[..prefix])}[x] the fast path does not read");
        }
    }

    /// <summary>An array member's objects into <paramref name="list"/>, each read with its type's table.</summary>
    private static void ReadList<TItem>(ref Utf8JsonReader r, List<TItem> list)
        where TItem : Base
    {
        var members = Members<TItem>.OfType;
        ReadArray(ref r);
        while (NextItem(ref r))
        {
            list.Add(members.Nested(ref r));
        }
    }
}
