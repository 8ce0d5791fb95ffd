using HealthRec.Server.Staff;
using HealthRec.Server.Transparency;

return await HealthRecCommandLine.RunAsync(args, Program.ServeAsync);

public partial class Program
{
    /// <summary>The whole server, composed: one line per feature. Tests build it with their own settings (and may add, e.g., a log capture).</summary>
    public static WebApplication BuildServer(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddHosting();
        builder.Services.AddHealthRecStorage(builder.Configuration);
        builder.AddJobs();
        builder.AddCdsHooks();
        builder.AddModels();
        builder.AddSourceAttributes();
        builder.AddKnowledge();
        builder.AddSmart();
        builder.AddAudit();
        builder.AddStaffAccess();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseHosting();
        app.UseStaffAccess();
        app.MapOperations();
        app.MapCdsHooks();
        app.MapModels();
        app.MapSourceAttributes();
        app.MapKnowledge();
        app.MapJobs();
        app.MapSmart();
        app.MapAudit();
        app.MapConsole();
        return app;
    }

    internal static async Task<int> ServeAsync(string[] args, CancellationToken cancellationToken)
    {
        await using var app = BuildServer(args);
        await app.RunAsync(cancellationToken);
        return 0;
    }
}
