using System.Reflection;
using Xunit.Sdk;
using Xunit.v3;

namespace HealthRec.Data.Tests;

/// <summary>
/// Runs a theory once on each engine HealthRec stores data in — SQLite (the default, no server) and PostgreSQL (the
/// production engine) — with the engine as its one argument: <c>[Theory, EachEngine]</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class EachEngineAttribute : DataAttribute
{
    public override ValueTask<IReadOnlyCollection<ITheoryDataRow>> GetData(MethodInfo testMethod, DisposalTracker disposalTracker) =>
        new([new TheoryDataRow<DatabaseEngine>(DatabaseEngine.Sqlite), new TheoryDataRow<DatabaseEngine>(DatabaseEngine.Postgres)]);

    public override bool SupportsDiscoveryEnumeration() => true;
}
