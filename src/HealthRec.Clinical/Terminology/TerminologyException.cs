namespace HealthRec.Clinical.Terminology;

/// <summary>A terminology or schema document is unusable; the message lists every problem found.</summary>
public sealed class TerminologyException(string message) : Exception(message);
