using System.Runtime.InteropServices;

namespace HealthRec.Data;

/// <summary>
/// Lowers the calling thread's scheduling priority, for background work that must not take the cores from requests
/// (Linux: the thread's nice value; elsewhere, and where it is refused, nothing changes).
/// </summary>
internal static partial class BackgroundPriority
{
    // Nice 10: about a tenth of a normal thread's share when the cores are contended, all of an idle core when not.
    private const int Nice = 10;
    private const int PrioProcess = 0;

    public static void Lower()
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                // On Linux a thread is a task of its own: PRIO_PROCESS with its thread id sets that thread alone.
                _ = SetPriority(PrioProcess, GetThreadId(), Nice);
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                // A libc without these calls: the thread keeps its priority.
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "setpriority")]
    private static partial int SetPriority(int which, int who, int priority);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetThreadId();
}
