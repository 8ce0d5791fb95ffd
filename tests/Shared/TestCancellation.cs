namespace HealthRec.Testing;

/// <summary>The running test's cancellation token, as <c>Ct</c> in every test (xUnit cancels it when the run is stopped or times out).</summary>
internal static class TestCancellation
{
    public static CancellationToken Ct => TestContext.Current.CancellationToken;
}
