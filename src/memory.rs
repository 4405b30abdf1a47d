//! Process-wide memory settings, applied once at start before any thread exists.

/// glibc's malloc gives threads that contend an arena of their own (up to eight per core):
/// with actix's workers, tokio's threads and one thread per SQLite connection, memory freed
/// in one arena is not reused by another, and the peak grows. Two arenas keep the benchmark's
/// peak RSS 7-9 MB lower (BENCHMARKS.md). The cost: a thread keeps the arena it drew first,
/// and in some starts both HTTP workers draw the same one and contend for its lock (pages a
/// fifth slower in that process). An operator's own `MALLOC_ARENA_MAX` (which glibc reads
/// itself) is left to stand.
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only changes the allocator's tuning; called before other threads
        // start, from main.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}
