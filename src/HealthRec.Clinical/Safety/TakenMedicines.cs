namespace HealthRec.Clinical.Safety;

/// <summary>
/// The medicines a patient takes (and those ordered beside a draft), each distinct one — same system, code and name —
/// once with how many times it appears and its identity looked up once. Checks read it as a list of (entry, identity);
/// a medicine that appears twice reads once, since every finding about it would be the same.
/// </summary>
public sealed class TakenMedicines : IEnumerable<(MedicationEntry Entry, MedicationIdentity Identity)>
{
    private readonly Distinct[] _distinct;
    private readonly Dictionary<(string System, string Code, string? Display), int> _index;
    private readonly int _without;

    internal TakenMedicines(IEnumerable<MedicationEntry> entries, Func<MedicationEntry, MedicationIdentity> identify)
    {
        var distinct = new List<Distinct>();
        _index = [];
        foreach (var entry in entries)
        {
            if (_index.TryGetValue(Key(entry), out var at))
            {
                distinct[at] = distinct[at] with { Count = distinct[at].Count + 1 };
            }
            else
            {
                _index[Key(entry)] = distinct.Count;
                distinct.Add(new Distinct(entry, identify(entry), 1));
            }
        }

        _distinct = [.. distinct];
        _without = -1;
    }

    private TakenMedicines(TakenMedicines all, int without)
    {
        _distinct = all._distinct;
        _index = all._index;
        _without = without;
    }

    /// <summary>The same list less one appearance of <paramref name="entry"/> (the draft under check, not beside itself).</summary>
    public TakenMedicines Without(MedicationEntry? entry) =>
        entry is not null && _without < 0 && _index.TryGetValue(Key(entry), out var at) ? new TakenMedicines(this, at) : this;

    public IEnumerator<(MedicationEntry Entry, MedicationIdentity Identity)> GetEnumerator()
    {
        for (var i = 0; i < _distinct.Length; i++)
        {
            var (entry, identity, count) = _distinct[i];
            if (count - (i == _without ? 1 : 0) > 0)
            {
                yield return (entry, identity);
            }
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    private static (string, string, string?) Key(MedicationEntry entry) => (entry.System, entry.Code, entry.Display);

    private readonly record struct Distinct(MedicationEntry Entry, MedicationIdentity Identity, int Count);
}
