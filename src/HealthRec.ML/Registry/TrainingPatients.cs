using System.Buffers.Binary;
using System.Security.Cryptography;

namespace HealthRec.ML.Registry;

/// <summary>
/// Which patients a model version learnt from (its training and validation parts), kept as salted, truncated digests
/// (<c>training-patients.bin</c>: sorted 32-bit prefixes of SHA-256(salt | patient id)) so that evaluation on data that
/// overlaps them can say so, without the bundle holding patient ids. The salt is unique to the version. With 32 bits a
/// patient not trained on matches by chance with probability (trained patients) / 2³² — about one in 86,000 for 50,000.
/// </summary>
public static class TrainingPatients
{
    public const string FileName = "training-patients.bin";

    /// <summary>A salt unique to a model version: from its outcome, version and training time.</summary>
    public static string SaltFor(string outcome, string version, DateTimeOffset trainedAt) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{outcome}|{version}|{trainedAt:O}")))[..32];

    public static void Write(string folder, string salt, IEnumerable<string> patientIds)
    {
        var digests = patientIds.Distinct(StringComparer.Ordinal).Select(id => Digest(salt, id)).Distinct().Order().ToArray();
        var bytes = new byte[digests.Length * 4];
        for (var i = 0; i < digests.Length; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(i * 4), digests[i]);
        }

        File.WriteAllBytes(Path.Combine(folder, FileName), bytes);
    }

    /// <summary>How many of <paramref name="patientIds"/> the version was trained on; null when the bundle predates the record.</summary>
    public static int? Overlap(string folder, string? salt, IEnumerable<string> patientIds)
    {
        var file = Path.Combine(folder, FileName);
        if (salt is null || !File.Exists(file))
        {
            return null;
        }

        var bytes = File.ReadAllBytes(file);
        var digests = new uint[bytes.Length / 4];
        for (var i = 0; i < digests.Length; i++)
        {
            digests[i] = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(i * 4));
        }

        return patientIds.Distinct(StringComparer.Ordinal).Count(id => Array.BinarySearch(digests, Digest(salt, id)) >= 0);
    }

    private static uint Digest(string salt, string patientId) =>
        BinaryPrimitives.ReadUInt32BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes($"{salt}|{patientId}")));
}
