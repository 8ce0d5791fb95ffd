using System.Runtime.InteropServices;

namespace HealthRec.Data;

/// <summary>
/// Puts the calling thread in the background, for work that must not take the cores from requests. On Linux the thread
/// joins the idle scheduling class (SCHED_IDLE): it runs on cores no other thread wants, and a thread answering a
/// request that wakes up takes the core from it at once; where that is refused it gets nice 10 instead (about a tenth
/// of a normal thread's share). Elsewhere nothing changes.
/// </summary>
internal static partial class BackgroundPriority
{
    private const int Nice = 10;
    private const int PrioProcess = 0;
    private const int SchedIdle = 5;

    public static void Lower()
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                // On Linux a thread is a task of its own: its thread id names that thread alone.
                var thread = GetThreadId();
                var parameters = 0;
                if (SetScheduler(thread, SchedIdle, ref parameters) != 0)
                {
                    _ = SetPriority(PrioProcess, thread, Nice);
                }
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                // A libc without these calls: the thread keeps its priority.
            }
        }
    }

    // struct sched_param { int sched_priority; }: 0 for SCHED_IDLE.
    [LibraryImport("libc", EntryPoint = "sched_setscheduler")]
    private static partial int SetScheduler(int pid, int policy, ref int parameters);

    [LibraryImport("libc", EntryPoint = "setpriority")]
    private static partial int SetPriority(int which, int who, int priority);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetThreadId();
}
