namespace HealthRec.Server.Hosting;

/// <summary>
/// A request ASP.NET Core cannot bind (a query value of the wrong type: <c>?top=abc</c>) answers 400 with problem
/// details that name the parameter, instead of an empty 400; the binding failure is thrown for this handler to word
/// (<see cref="RouteHandlerOptions.ThrowOnBadRequest"/>). Any other exception is left to the default handler.
/// </summary>
internal sealed class BadRequestHandler : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad || httpContext.Response.HasStarted)
        {
            return false;
        }

        // "Failed to bind parameter "int? top" from "abc"." names the parameter and the value the caller sent.
        var problem = TypedResults.Problem(statusCode: bad.StatusCode, title: "The request is not valid", detail: bad.Message);
        await problem.ExecuteAsync(httpContext);
        return true;
    }
}
