using Microsoft.AspNetCore.DataProtection.Repositories;

namespace HealthRec.Server.Smart;

/// <summary>
/// ASP.NET Core Data Protection's key ring kept in the HealthRec database (SQLite or PostgreSQL), so that every node
/// reads what another encrypted (a SMART launch's cookie, a session). Whoever can read the database can read the keys:
/// the database is already where HealthRec's most sensitive records live, and is protected as such.
/// </summary>
internal sealed class DatabaseKeyRing(SmartSessionStore store) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements() => [.. store.Keys().Select(XElement.Parse)];

    public void StoreElement(XElement element, string friendlyName) => store.AddKey(friendlyName, element.ToString(SaveOptions.DisableFormatting));
}
